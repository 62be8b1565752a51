package io.sdj.models.verify;

import io.sdj.weights.ModelFile;
import io.sdj.weights.ModelImporter;
import io.sdj.weights.ModelSource;
import io.sdj.weights.ModelWriter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A reference case's model as the engine ships it: imported from the case directory (component folder or diffusers
 * folder) by {@link ModelImporter}, converted to an sdj flat file in a temporary location by {@link ModelWriter}
 * (source dtypes kept) and opened back with {@link ModelFile}; verification therefore exercises the converter and
 * the reader too. The temporary file is deleted when this is closed.
 */
public final class ConvertedModel implements AutoCloseable {
    private final ModelFile file;
    private final Path tmp;

    private ConvertedModel(ModelFile file, Path tmp) {
        this.file = file;
        this.tmp = tmp;
    }

    public static ConvertedModel of(Path caseDir) {
        Path tmp;
        try {
            tmp = Files.createTempFile("sdj-verify-", ".sdj");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temporary file for the converted model: " + e.getMessage(), e);
        }
        try {
            try (ModelSource src = ModelImporter.importFrom(caseDir)) {
                ModelWriter.write(src, tmp, null, true, null);
            }
            return new ConvertedModel(ModelFile.open(tmp, true), tmp);
        } catch (RuntimeException e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    /** The temporary flat file (valid until {@link #close}). */
    public Path path() { return tmp; }

    /** The converted model (same view as a flat file given to {@code sdj generate}). */
    public ModelSource model() { return file; }

    /** The single component of a component-folder case. */
    public String onlyComponent() {
        if (file.components().size() != 1) {
            throw new IllegalStateException(file.path() + ": expected one component, found " + file.components());
        }
        return file.components().get(0);
    }

    @Override
    public void close() {
        file.close();
        deleteQuietly(tmp);
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a leftover temporary file is harmless
        }
    }
}
