package io.sdj.weights.hub;

/** Hears how the download of each file goes; called from the downloading thread. */
public interface DownloadProgress {
    /** {@code total} is -1 when unknown; {@code resumedFrom} &gt; 0 when an {@code .incomplete} file is continued. */
    void started(String file, long total, long resumedFrom);

    /** {@code done} counts every byte of the file on disk so far, resumed ones included. */
    void advanced(String file, long done, long total);

    /** The file is complete and verified (or was already in the cache: {@code cached}). */
    void finished(String file, long total, boolean cached);

    DownloadProgress NONE = new DownloadProgress() {
        @Override public void started(String file, long total, long resumedFrom) {}
        @Override public void advanced(String file, long done, long total) {}
        @Override public void finished(String file, long total, boolean cached) {}
    };
}
