package io.sdj.bench;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.vae.AutoencoderKL;
import io.sdj.models.vae.RandomWeights;
import io.sdj.models.vae.VaeConfig;
import io.sdj.models.vae.VaeParameterShapes;
import io.sdj.models.vae.VaeTiling;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Peak memory of one SD VAE decode (synthetic weights, batch 1), tiled or not: the workspace's activation buffers,
 * the heap's peak use (sum of the heap pools' peaks) and the process's peak resident set (VmHWM). One decode per JVM,
 * so the peaks belong to it: {@code java ... io.sdj.bench.VaeMemoryProbe <latent size> <on|off>}, e.g. 128 = 1024².
 */
public final class VaeMemoryProbe {
    private VaeMemoryProbe() { }

    public static void main(String[] args) throws Exception {
        int size = args.length > 0 ? Integer.parseInt(args[0]) : 128;
        boolean tiled = args.length > 1 && args[1].equals("on");
        VaeConfig config = VaeConfig.stableDiffusion();
        AutoencoderKL vae;
        try (RandomWeights w = new RandomWeights(VaeParameterShapes.decoderOnly(config), 1234, "synthetic SD VAE decoder")) {
            vae = AutoencoderKL.load(config, w);
        }
        Tensor latents = VaeDecoderBench.gaussian(7, 1, config.latentChannels(), size, size);
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) p.resetPeakUsage();
        long rssBefore = status("VmRSS");
        Workspace ws = new Workspace();
        VaeTiling tiling = tiled ? VaeTiling.defaults(config) : null;
        long t0 = System.nanoTime();
        Tensor image = vae.decode(ws, latents, tiling, () -> { }, Trace.NONE);
        double seconds = (System.nanoTime() - t0) / 1e9;
        long heapPeak = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP) heapPeak += p.getPeakUsage().getUsed();
        }
        System.out.printf("VAE decode %d² latent → %d² image, tiling %s%s: %.1f s; workspace %.2f GiB; heap peak %.2f GiB;"
                        + " RSS before %.2f GiB, peak (VmHWM) %.2f GiB; max heap %.1f GiB%n",
                size, image.dim(2), tiled ? "on" : "off", tiled ? " (" + tiling.decodeTileCount(size, size) + " tiles of "
                        + tiling.latentTile() + "² latents)" : "", seconds, ws.allocatedBytes() / GIB, heapPeak / GIB,
                rssBefore / GIB, status("VmHWM") / GIB, Runtime.getRuntime().maxMemory() / GIB);
    }

    private static final double GIB = 1024.0 * 1024 * 1024;

    /** A /proc/self/status field in bytes (0 where there is none). */
    private static long status(String field) throws Exception {
        Path p = Path.of("/proc/self/status");
        if (!Files.isReadable(p)) return 0;
        for (String line : Files.readAllLines(p)) {
            if (line.startsWith(field + ":")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
        return 0;
    }
}
