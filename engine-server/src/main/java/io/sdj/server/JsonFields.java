package io.sdj.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.math.BigInteger;
import java.util.Base64;

/**
 * Typed reads of a JSON request object: a missing field or JSON {@code null} gives the default (pydantic's Optional,
 * as A1111 and OpenAI read them), a value of the wrong type is a 400 naming the field. Fields not read are ignored.
 */
final class JsonFields {
    private final ObjectNode body;

    JsonFields(ObjectNode body) {
        this.body = body;
    }

    boolean has(String name) {
        JsonNode n = body.get(name);
        return n != null && !n.isNull();
    }

    JsonNode node(String name) {
        JsonNode n = body.get(name);
        return n == null || n.isNull() ? null : n;
    }

    String string(String name, String dflt) {
        JsonNode n = node(name);
        if (n == null) return dflt;
        if (!n.isTextual()) throw ApiException.badField(name, "expected a string, got " + describe(n));
        return n.textValue();
    }

    Integer integer(String name, Integer dflt) {
        JsonNode n = node(name);
        if (n == null) return dflt;
        if (n.isFloatingPointNumber() && n.doubleValue() == Math.rint(n.doubleValue())) n = com.fasterxml.jackson.databind.node.LongNode.valueOf(n.longValue());
        if (!n.isIntegralNumber() || !n.canConvertToInt()) throw ApiException.badField(name, "expected an integer, got " + describe(n));
        return n.intValue();
    }

    /** An integer in torch's seed range (−2⁶³ … 2⁶⁴−1), as a 64-bit pattern. */
    Long seed(String name, long dflt) {
        JsonNode n = node(name);
        if (n == null) return dflt;
        if (n.isFloatingPointNumber() && n.doubleValue() == Math.rint(n.doubleValue()) && Math.abs(n.doubleValue()) < 9e15) return n.longValue();
        if (!n.isIntegralNumber()) throw ApiException.badField(name, "expected an integer, got " + describe(n));
        BigInteger v = n.bigIntegerValue();
        if (v.bitLength() > 64 || (v.signum() < 0 && v.bitLength() > 63)) {
            throw ApiException.badField(name, v + " is outside the seed range -9223372036854775808 … 18446744073709551615");
        }
        return v.longValue();
    }

    Double number(String name, Double dflt) {
        JsonNode n = node(name);
        if (n == null) return dflt;
        if (!n.isNumber()) throw ApiException.badField(name, "expected a number, got " + describe(n));
        double v = n.doubleValue();
        if (!Double.isFinite(v)) throw ApiException.badField(name, "expected a finite number, got " + v);
        return v;
    }

    boolean bool(String name, boolean dflt) {
        JsonNode n = node(name);
        if (n == null) return dflt;
        if (!n.isBoolean()) throw ApiException.badField(name, "expected true or false, got " + describe(n));
        return n.booleanValue();
    }

    /** Refuses a field that is present with anything but "off" (false, 0, "", empty list or object). */
    void refuseUnlessOff(String name, String why) {
        JsonNode n = node(name);
        if (n == null) return;
        boolean off = (n.isBoolean() && !n.booleanValue()) || (n.isNumber() && n.doubleValue() == 0)
                || (n.isTextual() && (n.textValue().isEmpty() || n.textValue().equalsIgnoreCase("none")))
                || (n.isContainerNode() && n.isEmpty());
        if (!off) throw ApiException.badField(name, describe(n) + " is not supported: " + why);
    }

    /** Base64 image data, with or without a {@code data:image/...;base64,} prefix. */
    static byte[] base64(String field, String text) {
        String t = text.strip();
        if (t.startsWith("data:")) {
            int comma = t.indexOf(',');
            if (comma < 0) throw ApiException.badField(field, "a data URL without a comma");
            t = t.substring(comma + 1);
        }
        try {
            return Base64.getMimeDecoder().decode(t);
        } catch (IllegalArgumentException e) {
            throw ApiException.badField(field, "not base64: " + e.getMessage());
        }
    }

    static String describe(JsonNode n) {
        String s = n.isTextual() ? "'" + n.textValue() + "'" : n.toString();
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }
}
