package io.sdj.ops;

import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Gives a vector kernel class a species that the JIT treats as a compile-time constant, for any species.
 * <p>The Vector API only produces SIMD code when the species is a constant (a {@code static final}); passed as a
 * parameter it silently falls back to boxed scalar code ~10× slower. So each kernel class holds
 * {@code static final VectorSpecies<Float> SP = SpeciesVariants.species(MethodHandles.lookup())}: the class as
 * normally loaded gets {@link FloatVector#SPECIES_PREFERRED}; {@link #instance} defines a hidden copy of the same
 * class bytes whose class data is another species (e.g. 128 or 256 bits), so tests run exactly the production code
 * at narrower widths. Kernel classes must therefore not have nested classes (lambdas are fine).
 */
final class SpeciesVariants {
    private static final Map<String, Object> CACHE = new ConcurrentHashMap<>();

    private SpeciesVariants() {}

    /** The species of the class behind {@code lookup}: its class data when it is a variant, else the preferred one. */
    static VectorSpecies<Float> species(MethodHandles.Lookup lookup) {
        try {
            @SuppressWarnings("unchecked")
            VectorSpecies<Float> s = MethodHandles.classData(lookup, "_", VectorSpecies.class);
            return s != null ? s : FloatVector.SPECIES_PREFERRED;
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot read class data of " + lookup.lookupClass(), e);
        }
    }

    /**
     * An instance (no-argument constructor) of {@code kernelClass} bound to {@code species}, as {@code api}.
     * For the preferred species this is the ordinary class.
     */
    static <T> T instance(Class<? extends T> kernelClass, Class<T> api, VectorSpecies<Float> species) {
        if (species.elementType() != float.class) throw new IllegalArgumentException("not a float species: " + species);
        String key = kernelClass.getName() + "@" + species.vectorBitSize();
        return api.cast(CACHE.computeIfAbsent(key, k -> define(kernelClass, species)));
    }

    private static Object define(Class<?> kernelClass, VectorSpecies<Float> species) {
        try {
            Class<?> c = kernelClass;
            if (!species.equals(FloatVector.SPECIES_PREFERRED)) {
                byte[] bytes;
                try (InputStream in = kernelClass.getResourceAsStream(kernelClass.getSimpleName() + ".class")) {
                    if (in == null) throw new IllegalStateException("class file of " + kernelClass + " not found");
                    bytes = in.readAllBytes();
                }
                c = MethodHandles.privateLookupIn(kernelClass, MethodHandles.lookup())
                        .defineHiddenClassWithClassData(bytes, species, true).lookupClass();
            }
            return MethodHandles.privateLookupIn(c, MethodHandles.lookup())
                    .findConstructor(c, MethodType.methodType(void.class)).invoke();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("cannot bind " + kernelClass + " to " + species, e);
        }
    }
}
