package io.sdj.models.verify;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.weights.TorchCheckpoint;
import io.sdj.weights.WeightsFormatException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code checkpoint_hostile} cases: every file must be refused by {@link TorchCheckpoint} with a
 * {@link WeightsFormatException} naming the file, and its code-execution marker must not exist afterwards.
 */
public final class HostileCheckpointCaseRunner implements SelfCheckingRunner {

    @Override
    public List<OutputCheck> check(GoldenCase c) {
        List<OutputCheck> out = new ArrayList<>();
        for (JsonNode f : c.json().path("files")) {
            String name = f.path("file").asText();
            Path file = c.file(name);
            Path marker = f.path("marker").isTextual() ? Path.of(f.path("marker").asText()) : null;
            boolean markerBefore = marker != null && Files.exists(marker);
            String why = null, refusal = null;
            try {
                TorchCheckpoint.open(file).close();
                why = "accepted (must be refused)";
            } catch (WeightsFormatException e) {
                refusal = e.getMessage();
            } catch (RuntimeException | Error e) {
                why = "not refused cleanly: " + e;
            }
            if (why == null && marker != null && !markerBefore && Files.exists(marker)) why = "marker " + marker + " was created";
            out.add(why == null
                    ? new OutputCheck(c.name(), c.component(), name, 0, 0, null, OutputCheck.Status.PASS, "refused: " + refusal.substring(refusal.indexOf(": ") + 2))
                    : OutputCheck.fail(c.name(), c.component(), name, null, why));
        }
        if (out.isEmpty()) out.add(OutputCheck.fail(c.name(), c.component(), "*", null, "the case lists no files"));
        return out;
    }
}
