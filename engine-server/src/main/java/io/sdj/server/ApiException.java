package io.sdj.server;

/**
 * A request the server refuses: the HTTP status (400 bad value, 401 no or wrong key, 404, 405, 413 too large, 503
 * queue full) and one line naming the problem; {@code field} is the JSON field at fault, when there is one.
 */
public class ApiException extends RuntimeException {
    private final int status;
    private final String field;

    public ApiException(int status, String message) {
        this(status, message, null);
    }

    public ApiException(int status, String message, String field) {
        super(message, null, false, false);
        this.status = status;
        this.field = field;
    }

    public int status() { return status; }

    /** The request field the message is about, or null. */
    public String field() { return field; }

    static ApiException badField(String field, String problem) {
        return new ApiException(400, field + ": " + problem, field);
    }
}
