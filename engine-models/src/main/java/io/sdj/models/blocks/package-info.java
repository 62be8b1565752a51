/**
 * Pieces shared by the UNet and the VAE: {@link io.sdj.models.blocks.ResnetBlock2D}, weight lookup by upstream name
 * and expected shape ({@link io.sdj.models.blocks.ModelWeights}), and seeded synthetic weights created on request
 * ({@link io.sdj.models.blocks.SyntheticWeights}) for benchmarks and tests without downloaded models.
 */
package io.sdj.models.blocks;
