package io.sdj.weights.hub;

/** A hub download or cache lookup that failed; the message names the repository, revision or file and the reason. */
public class HubException extends RuntimeException {
    public HubException(String message) { super(message); }
    public HubException(String message, Throwable cause) { super(message, cause); }
}
