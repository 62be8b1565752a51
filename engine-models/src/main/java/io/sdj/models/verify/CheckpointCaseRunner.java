package io.sdj.models.verify;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.core.WeightSource;
import io.sdj.weights.ModelImporter;
import io.sdj.weights.ModelSource;
import io.sdj.weights.Safetensors;
import io.sdj.weights.TorchCheckpoint;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * {@code checkpoint} cases: every pickled file of {@code case.json → files} is read by {@link TorchCheckpoint} and
 * must give exactly the tensors of its {@code expected} safetensors file (names, dtypes, shapes, bytes); and the
 * first file, imported as an LDM checkpoint, must give the referenced base folder's tensors bit for bit.
 */
public final class CheckpointCaseRunner implements SelfCheckingRunner {
    private static final Tolerance EXACT = new Tolerance(0, 0);

    @Override
    public List<OutputCheck> check(GoldenCase c) throws IOException {
        List<OutputCheck> out = new ArrayList<>();
        for (JsonNode f : c.json().path("files")) {
            String file = f.path("file").asText();
            String why;
            try {
                why = compare(c.file(file), c.file(f.path("expected").asText()));
            } catch (RuntimeException e) {
                why = "refused: " + e.getMessage();
            }
            out.add(verdict(c, file, why));
        }
        JsonNode base = c.json().path("base");
        if (base.isObject() && !c.json().path("files").isEmpty()) {
            String first = c.json().path("files").get(0).path("file").asText();
            String why;
            try {
                Path dir = c.dir().resolve(base.path("path").asText()).normalize();
                why = BaseDigests.check(dir, base.path("sha256"));
                if (why == null) why = compareImported(c.file(first), dir);
            } catch (RuntimeException e) {
                why = e.getMessage();
            }
            out.add(verdict(c, first + " as diffusers components", why));
        }
        return out;
    }

    private static OutputCheck verdict(GoldenCase c, String output, String why) {
        return why == null ? new OutputCheck(c.name(), c.component(), output, 0, 0, EXACT, OutputCheck.Status.PASS, "")
                : OutputCheck.fail(c.name(), c.component(), output, EXACT, why);
    }

    /** null when identical, else the first difference. */
    static String compare(Path file, Path expected) {
        try (TorchCheckpoint ck = TorchCheckpoint.open(file); Safetensors exp = Safetensors.open(expected)) {
            if (!ck.names().equals(exp.names())) {
                for (String n : exp.names()) if (!ck.contains(n)) return "tensor '" + n + "' missing";
                for (String n : ck.names()) if (!exp.contains(n)) return "unexpected tensor '" + n + "'";
            }
            for (String n : exp.names()) {
                if (!ck.dtype(n).equals(exp.dtype(n))) return "tensor '" + n + "': dtype " + ck.dtype(n) + ", expected " + exp.dtype(n);
                if (!java.util.Arrays.equals(ck.shape(n), exp.shape(n))) {
                    return "tensor '" + n + "': shape " + java.util.Arrays.toString(ck.shape(n)) + ", expected " + java.util.Arrays.toString(exp.shape(n));
                }
                long m = ck.bytes(n).mismatch(exp.bytes(n));
                if (m >= 0) return "tensor '" + n + "': bytes differ from byte " + m;
            }
            return null;
        }
    }

    private static String compareImported(Path ckpt, Path baseDir) {
        try (ModelSource m = ModelImporter.importFrom(ckpt); ModelSource base = ModelImporter.importFrom(baseDir)) {
            for (String comp : List.of("unet", "vae", "text_encoder")) {
                WeightSource got = m.weights(comp), want = base.weights(comp);
                if (!got.names().equals(want.names())) return comp + ": tensor names differ from the base folder's";
                for (String n : want.names()) {
                    MemorySegment a = got.get(n).data(), b = want.get(n).data();
                    if (!java.util.Arrays.equals(got.get(n).shape(), want.get(n).shape()) || a.mismatch(b) >= 0) return comp + " " + n + " differs from the base folder's";
                }
            }
            return null;
        }
    }
}
