/** JMH benchmarks of the kernels and whole models; run the shaded {@code target/benchmarks.jar}. */
package io.sdj.bench;
