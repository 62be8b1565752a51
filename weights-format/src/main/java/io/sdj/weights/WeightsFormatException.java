package io.sdj.weights;

/** A weights file that cannot be read: the message names the file and, where known, the tensor and the problem. */
public class WeightsFormatException extends RuntimeException {
    public WeightsFormatException(String message) { super(message); }
    public WeightsFormatException(String message, Throwable cause) { super(message, cause); }
}
