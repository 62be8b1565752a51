package io.sdj.models.taesd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;
import io.sdj.weights.TensorFile;
import io.sdj.weights.WeightsFormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Standalone TAESD weights as they are downloaded: a taesd.py file ({@code taesd_decoder.pth},
 * {@code taef1_decoder.safetensors}, ...: layer-indexed keys {@code 1.weight}, {@code 3.conv.0.weight}) or a diffusers
 * {@code AutoencoderTiny} folder (or a repository folder whose {@code vae/} is one: {@code config.json} +
 * {@code diffusion_pytorch_model.safetensors}, keys {@code decoder.layers.N.*} / {@code encoder.layers.N.*}).
 * diffusers' {@code DecoderTiny} applies the soft clamp outside its {@code layers}, so its layer N is taesd.py's
 * N + 1; the encoders are indexed alike.
 */
public final class TaesdFiles implements AutoCloseable {
    private static final Pattern DIFFUSERS = Pattern.compile("(decoder|encoder)\\.layers\\.(\\d+)\\.(.+)");

    private final TensorFile file;
    private final WeightSource decoder, encoder;
    private final String origin;

    private TaesdFiles(TensorFile file, WeightSource decoder, WeightSource encoder, String origin) {
        this.file = file;
        this.decoder = decoder;
        this.encoder = encoder;
        this.origin = origin;
    }

    /** Opens a TAESD file or AutoencoderTiny folder; errors name the path and what was expected. */
    public static TaesdFiles open(Path path) {
        if (!Files.exists(path)) throw new IllegalArgumentException("TAESD weights not found: " + path);
        Path weights = Files.isDirectory(path) ? folderWeights(path) : path;
        TensorFile f;
        try {
            f = TensorFile.open(weights);
        } catch (WeightsFormatException e) {
            throw new IllegalArgumentException("cannot read TAESD weights " + weights + ": " + e.getMessage(), e);
        }
        try {
            Set<String> names = f.names();
            boolean diffusers = names.stream().anyMatch(n -> DIFFUSERS.matcher(n).matches());
            WeightSource dec = null, enc = null;
            if (diffusers) {
                Map<String, String> d = new LinkedHashMap<>(), e = new LinkedHashMap<>();
                for (String n : names) {
                    Matcher m = DIFFUSERS.matcher(n);
                    if (!m.matches()) continue;
                    int i = Integer.parseInt(m.group(2));
                    if (m.group(1).equals("decoder")) d.put((i + 1) + "." + m.group(3), n);
                    else e.put(i + "." + m.group(3), n);
                }
                dec = d.isEmpty() ? null : renamed(f, d, weights + " [decoder]");
                enc = e.isEmpty() ? null : renamed(f, e, weights + " [encoder]");
            } else if (names.contains("1.weight") && names.contains("19.weight")) {
                dec = f;
            } else if (names.contains("0.weight") && names.contains("14.weight")) {
                enc = f;
            } else {
                throw new IllegalArgumentException(weights + ": not TAESD weights (expected taesd.py keys such as '1.weight', '3.conv.0.weight' "
                        + "or diffusers AutoencoderTiny keys 'decoder.layers.N...')");
            }
            return new TaesdFiles(f, dec, enc, weights.toString());
        } catch (RuntimeException e) {
            f.close();
            throw e;
        }
    }

    private static Path folderWeights(Path dir) {
        Path d = dir;
        if (!Files.isRegularFile(d.resolve("config.json")) && Files.isRegularFile(d.resolve("vae").resolve("config.json"))) d = d.resolve("vae");
        Path config = d.resolve("config.json");
        if (!Files.isRegularFile(config)) throw new IllegalArgumentException(dir + ": not an AutoencoderTiny folder (no config.json, nor vae/config.json)");
        try {
            JsonNode c = new ObjectMapper().readTree(Files.readString(config));
            String cls = c.path("_class_name").asText("");
            if (!cls.equals("AutoencoderTiny")) throw new IllegalArgumentException(config + ": _class_name is '" + cls + "', expected AutoencoderTiny");
        } catch (IOException e) {
            throw new IllegalArgumentException(config + ": cannot read: " + e.getMessage(), e);
        }
        for (String n : List.of("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")) {
            if (Files.isRegularFile(d.resolve(n))) return d.resolve(n);
        }
        throw new IllegalArgumentException(d + ": no diffusion_pytorch_model.safetensors (or .bin)");
    }

    private static WeightSource renamed(TensorFile f, Map<String, String> names, String origin) {
        return new WeightSource() {
            @Override
            public WeightTensor get(String name) {
                String src = names.get(name);
                if (src == null) throw new IllegalArgumentException(origin + ": no tensor for TAESD layer key '" + name + "'");
                WeightTensor t = f.get(src);
                return new WeightTensor(name, t.dtype(), t.shape(), t.data(), t.scales());
            }

            @Override public boolean contains(String name) { return names.containsKey(name); }

            @Override public Set<String> names() { return names.keySet(); }

            @Override public String origin() { return origin; }
        };
    }

    /** The decoder's weights under taesd.py names; throws naming the file when it holds only an encoder. */
    public WeightSource decoder() {
        if (decoder == null) throw new IllegalArgumentException(origin + ": holds a TAESD encoder, not a decoder (use the *_decoder file)");
        return decoder;
    }

    public boolean hasDecoder() { return decoder != null; }

    public boolean hasEncoder() { return encoder != null; }

    public WeightSource encoder() {
        if (encoder == null) throw new IllegalArgumentException(origin + ": holds a TAESD decoder, not an encoder (use the *_encoder file)");
        return encoder;
    }

    @Override
    public void close() { file.close(); }
}
