package example;

import io.sdj.models.pipeline.Cancellation;
import io.sdj.models.pipeline.DecoderKind;
import io.sdj.models.pipeline.GenerationResult;
import io.sdj.models.pipeline.PngWriter;
import io.sdj.models.pipeline.RgbImage;
import io.sdj.models.pipeline.Txt2Img;
import io.sdj.models.sampling.SamplerKind;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** README "From Java", verbatim apart from the model and output paths taken from the command line. */
public class Generate {
    public static void main(String[] args) throws IOException {
        Path model = Path.of(args[0]), output = Path.of(args[1]);
        try (Txt2Img sd = Txt2Img.load(model)) {                           // an .sdj file or a diffusers folder
            Cancellation cancel = new Cancellation();                          // cancel.cancel() from any thread
            GenerationResult result = sd.request()
                    .prompt("a red fox in the snow, photo")
                    .negativePrompt("blurry")
                    .sampler(SamplerKind.DPMPP_2M).steps(4)
                    .guidance(7.5f).seed(42).size(64, 64)
                    .decoder(DecoderKind.VAE)                                  // or DecoderKind.TAESD
                    .listener((step, total, elapsed, secPerStep) ->
                            System.err.printf("step %d/%d, %.2f s/step%n", step, total, secPerStep))
                    .cancellation(cancel)
                    .generate();
            RgbImage image = result.images().get(0);                           // 8-bit RGB, row-major
            Files.write(output, PngWriter.encode(image, result.parameters(0)));
            System.err.println(result.timings());                              // text encoder, each UNet step, decoder
        }
    }
}
