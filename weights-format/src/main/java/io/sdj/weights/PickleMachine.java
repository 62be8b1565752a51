package io.sdj.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A pickle interpreter that never imports or calls anything: a stack machine over the opcodes {@code torch.save}
 * writes, following the golden README's "safe reading policy". {@code GLOBAL}/{@code STACK_GLOBAL} only push a
 * {@link Global} name; allowed names are interpreted ({@code collections.OrderedDict} → an empty dict, the tensor
 * rebuild functions → {@link TensorRef}), tolerated names ({@code numpy} scalars and arrays, the Lightning
 * {@code ModelCheckpoint} callback, {@code _codecs.encode}, {@code set}) become {@link Opaque} placeholders, and any
 * other name refuses the whole file. Opcodes that instantiate by name ({@code INST}, {@code OBJ}, {@code EXT*},
 * {@code PERSID}) and out-of-band buffers are refused.
 *
 * <p>Python values are represented as: {@code None} → null, bool → Boolean, int → Long (BigInteger when it does not
 * fit), float → Double, str → String, bytes → {@link Bytes}, tuple → {@link Tuple}, list → ArrayList, dict →
 * LinkedHashMap.
 */
final class PickleMachine {
    /** A module-qualified name pushed by GLOBAL; never resolved. */
    record Global(String module, String name) {
        @Override public String toString() { return module + "." + name; }
    }

    /** An inert stand-in for an object built from a tolerated name (never constructed for real). */
    static final class Opaque {
        final Global of;
        Opaque(Global of) { this.of = of; }
        @Override public String toString() { return "<" + of + ">"; }
    }

    record Tuple(List<Object> items) {
        Object get(int i) { return items.get(i); }
        int size() { return items.size(); }
    }

    record Bytes(byte[] value) {
        @Override public boolean equals(Object o) { return o instanceof Bytes b && Arrays.equals(value, b.value); }
        @Override public int hashCode() { return Arrays.hashCode(value); }
    }

    /** A storage declared by a persistent id: key, safetensors dtype name, element size and element count. */
    record StorageRef(String key, String dtype, int elementSize, long numel) {}

    /** A tensor rebuilt by {@code _rebuild_tensor_v2}: a view of a storage (element offset, sizes, strides). */
    record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {}

    /** Resolves a persistent id (the tuple from BINPERSID) to a storage. */
    interface PersistentLoader {
        StorageRef load(Object pid);
    }

    static final Map<String, String[]> STORAGES = Map.of(
            "FloatStorage", new String[]{"F32", "4"}, "HalfStorage", new String[]{"F16", "2"},
            "BFloat16Storage", new String[]{"BF16", "2"}, "DoubleStorage", new String[]{"F64", "8"},
            "LongStorage", new String[]{"I64", "8"}, "IntStorage", new String[]{"I32", "4"},
            "ShortStorage", new String[]{"I16", "2"}, "CharStorage", new String[]{"I8", "1"},
            "ByteStorage", new String[]{"U8", "1"}, "BoolStorage", new String[]{"BOOL", "1"});

    private static final Set<String> TOLERATED = Set.of("numpy.core.multiarray.scalar", "numpy.dtype",
            "numpy.core.multiarray._reconstruct", "numpy.ndarray", "_codecs.encode",
            "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint", "builtins.set", "__builtin__.set");
    private static final String ORDERED_DICT = "collections.OrderedDict";
    private static final String REBUILD_TENSOR = "torch._utils._rebuild_tensor_v2";
    private static final String REBUILD_PARAMETER = "torch._utils._rebuild_parameter";

    /** Deepest nesting of MARKs and longest stack accepted (torch files need a handful). */
    private static final int MAX_STACK = 1 << 20;
    private static final Object MARK = new Object() {
        @Override public String toString() { return "MARK"; }
    };

    private final MemorySegment data;
    private final String where;
    private final PersistentLoader persistent;
    private long pos;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();

    private PickleMachine(MemorySegment data, long start, String where, PersistentLoader persistent) {
        this.data = data;
        this.pos = start;
        this.where = where;
        this.persistent = persistent;
    }

    /** The result of one pickle and the offset just after its STOP. */
    record Result(Object value, long end) {}

    /** Interprets the pickle starting at {@code start} of {@code data} up to its STOP. */
    static Result run(MemorySegment data, long start, String where, PersistentLoader persistent) {
        PickleMachine m = new PickleMachine(data, start, where, persistent);
        Object v = m.loop();
        return new Result(v, m.pos);
    }

    static Object run(MemorySegment data, String where, PersistentLoader persistent) {
        Result r = run(data, 0, where, persistent);
        if (r.end() != data.byteSize()) throw refuse("trailing bytes after the pickle's STOP at offset " + r.end());
        return r.value();
    }

    private static WeightsFormatException refuse(String why) { return new WeightsFormatException(why); }

    private WeightsFormatException err(String why) {
        return new WeightsFormatException(where + ": " + why);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // reading

    private int u8() {
        if (pos >= data.byteSize()) throw err("pickle truncated at offset " + pos);
        return data.get(ValueLayout.JAVA_BYTE, pos++) & 0xff;
    }

    private long uint(int bytes) {
        long v = 0;
        for (int i = 0; i < bytes; i++) v |= (long) u8() << (8 * i);
        return v;
    }

    private int sint32() { return (int) uint(4); }

    private byte[] take(long n) {
        if (n < 0 || n > data.byteSize() - pos) throw err("pickle declares " + Long.toUnsignedString(n) + " bytes at offset " + pos + " but only " + (data.byteSize() - pos) + " remain");
        byte[] b = data.asSlice(pos, n).toArray(ValueLayout.JAVA_BYTE);
        pos += n;
        return b;
    }

    private String line() {
        long start = pos;
        while (true) {
            if (pos >= data.byteSize()) throw err("pickle truncated in a text argument at offset " + start);
            if (data.get(ValueLayout.JAVA_BYTE, pos++) == '\n') break;
            if (pos - start > 1 << 16) throw err("text argument longer than 64 KiB at offset " + start);
        }
        return new String(data.asSlice(start, pos - 1 - start).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // stack

    private void push(Object o) {
        if (stack.size() >= MAX_STACK) throw err("pickle stack deeper than " + MAX_STACK);
        stack.add(o);
    }

    private Object pop() {
        if (stack.isEmpty() || (!marks.isEmpty() && stack.size() == marks.getLast())) throw err("pickle stack underflow at offset " + (pos - 1));
        return stack.removeLast();
    }

    private Object top() {
        if (stack.isEmpty()) throw err("pickle stack underflow at offset " + (pos - 1));
        return stack.getLast();
    }

    private List<Object> popMark() {
        if (marks.isEmpty()) throw err("pickle pops to a MARK that was never set (offset " + (pos - 1) + ")");
        int m = marks.removeLast();
        List<Object> items = new ArrayList<>(stack.subList(m, stack.size()));
        stack.subList(m, stack.size()).clear();
        return items;
    }

    // ---------------------------------------------------------------------------------------------------------------

    private Object loop() {
        while (true) {
            long at = pos;
            int op = u8();
            switch (op) {
                case 0x80 -> { int proto = u8(); if (proto > 5) throw err("pickle protocol " + proto + " is unknown"); }   // PROTO
                case 0x95 -> uint(8);                                       // FRAME: a hint only
                case '.' -> {                                               // STOP
                    Object v = pop();
                    if (!stack.isEmpty() || !marks.isEmpty()) throw err("pickle stops with " + stack.size() + " values left on the stack");
                    return v;
                }
                case '(' -> { if (marks.size() > 10_000) throw err("too many nested MARKs"); marks.add(stack.size()); }
                case '0' -> pop();                                          // POP
                case '1' -> popMark();                                      // POP_MARK
                case '2' -> push(top());                                    // DUP
                case 'N' -> push(null);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'J' -> push((long) sint32());                          // BININT
                case 'K' -> push((long) u8());                              // BININT1
                case 'M' -> push(uint(2));                                  // BININT2
                case 0x8a -> push(longOf(take(u8())));                      // LONG1
                case 0x8b -> push(longOf(take(sint32())));                  // LONG4
                case 'I' -> push(parseInt(line()));                         // INT (text)
                case 'L' -> { String s = line(); push(parseIntText(s.endsWith("L") ? s.substring(0, s.length() - 1) : s)); }
                case 'F' -> push(parseFloat(line()));                       // FLOAT (text)
                case 'G' -> push(Double.longBitsToDouble(Long.reverseBytes(uint(8))));  // BINFLOAT (big-endian)
                case 'X' -> push(utf8(take(uint(4))));                      // BINUNICODE
                case 0x8c -> push(utf8(take(u8())));                        // SHORT_BINUNICODE
                case 0x8d -> push(utf8(take(uint(8))));                     // BINUNICODE8
                case 'V' -> push(line());                                   // UNICODE (raw-unicode-escape; ASCII in practice)
                case 'T' -> push(latin1(take(uint(4))));                    // BINSTRING
                case 'U' -> push(latin1(take(u8())));                       // SHORT_BINSTRING
                case 'S' -> push(quoted(line()));                           // STRING (text)
                case 'B' -> push(new Bytes(take(uint(4))));                 // BINBYTES
                case 'C' -> push(new Bytes(take(u8())));                    // SHORT_BINBYTES
                case 0x8e -> push(new Bytes(take(uint(8))));                // BINBYTES8
                case ')' -> push(new Tuple(List.of()));
                case 't' -> push(new Tuple(popMark()));
                case 0x85 -> push(new Tuple(List.of(nn(pop()))));
                case 0x86 -> { Object b = pop(), a = pop(); push(new Tuple(Arrays.asList(a, b))); }
                case 0x87 -> { Object c = pop(), b = pop(), a = pop(); push(new Tuple(Arrays.asList(a, b, c))); }
                case ']' -> push(new ArrayList<>());
                case 'l' -> push(new ArrayList<>(popMark()));
                case '}' -> push(new LinkedHashMap<>());
                case 'd' -> { Map<Object, Object> d = new LinkedHashMap<>(); putPairs(d, popMark()); push(d); }
                case 0x8f -> push(new Opaque(new Global("builtins", "set")));  // EMPTY_SET
                case 0x90 -> { popMark(); if (!(top() instanceof Opaque)) throw err("ADDITEMS on a non-set"); }
                case 0x91 -> { popMark(); push(new Opaque(new Global("builtins", "frozenset"))); }
                case 'a' -> { Object v = pop(); listAt().add(v); }           // APPEND
                case 'e' -> { List<Object> items = popMark(); listAt().addAll(items); }  // APPENDS
                case 's' -> { Object v = pop(), k = pop(); putPairs(dictAt(), Arrays.asList(k, v)); }  // SETITEM
                case 'u' -> { List<Object> items = popMark(); putPairs(dictAt(), items); }  // SETITEMS
                case 'q' -> memo.put(uint(1), top());                       // BINPUT
                case 'r' -> memo.put(uint(4), top());                       // LONG_BINPUT
                case 'p' -> memo.put(parseInt(line()), top());              // PUT
                case 0x94 -> memo.put((long) memo.size(), top());           // MEMOIZE
                case 'h' -> push(memoGet(uint(1)));                         // BINGET
                case 'j' -> push(memoGet(uint(4)));                         // LONG_BINGET
                case 'g' -> push(memoGet(parseInt(line())));                // GET
                case 'c' -> { String module = line(), name = line(); push(global(module, name)); }   // GLOBAL
                case 0x93 -> {                                              // STACK_GLOBAL
                    Object name = pop(), module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) throw err("STACK_GLOBAL on non-strings");
                    push(global(m, n));
                }
                case 'R' -> { Object args = pop(), f = pop(); push(reduce(f, args)); }   // REDUCE
                case 0x81 -> { Object args = pop(), cls = pop(); push(newObj(cls, args)); }   // NEWOBJ
                case 0x92 -> { pop(); Object args = pop(), cls = pop(); push(newObj(cls, args)); }   // NEWOBJ_EX
                case 'b' -> {                                               // BUILD
                    pop();
                    if (!(top() instanceof Opaque)) throw err("BUILD on " + describe(top()) + " (only placeholders of tolerated names may be built)");
                }
                case 'Q' -> {                                               // BINPERSID
                    Object pid = pop();
                    if (persistent == null) throw err("persistent id in a pickle that may not have any");
                    push(persistent.load(pid));
                }
                case 'P' -> throw err("opcode PERSID (0x50) is never written by torch.save and is refused");
                case 'i', 'o', 0x82, 0x83, 0x84, 0x96, 0x97, 0x98 ->
                        throw err(String.format("opcode '%s' (0x%02x) at offset %d is never used by torch.save and is refused (INST/OBJ/EXT*/buffers)",
                                op >= 0x20 && op < 0x7f ? String.valueOf((char) op) : "\\x" + Integer.toHexString(op), op, at));
                default -> throw err(String.format("unknown pickle opcode 0x%02x at offset %d", op, at));
            }
        }
    }

    private static Object nn(Object o) { return o; }

    private Object memoGet(long key) {
        if (!memo.containsKey(key)) throw err("pickle reads memo entry " + key + " that was never stored");
        return memo.get(key);
    }

    @SuppressWarnings("unchecked")
    private List<Object> listAt() {
        Object t = top();
        if (t instanceof ArrayList<?> l) return (List<Object>) l;
        if (t instanceof Opaque) return new ArrayList<>(); // items appended to a placeholder are dropped
        throw err("APPEND on " + describe(t) + " (only lists)");
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dictAt() {
        Object t = top();
        if (t instanceof LinkedHashMap<?, ?> d) return (Map<Object, Object>) d;
        throw err("SETITEM on " + describe(t) + " (only dicts)");
    }

    private void putPairs(Map<Object, Object> d, List<Object> items) {
        if (items.size() % 2 != 0) throw err("dict items of odd length");
        for (int i = 0; i < items.size(); i += 2) {
            Object k = items.get(i);
            if (k instanceof List || k instanceof Map) throw err("unhashable dict key " + describe(k));
            d.put(k, items.get(i + 1));
        }
    }

    private Object global(String module, String name) {
        String full = module + "." + name;
        if (full.equals(ORDERED_DICT) || full.equals(REBUILD_TENSOR) || full.equals(REBUILD_PARAMETER) || TOLERATED.contains(full)) {
            return new Global(module, name);
        }
        if (module.equals("torch") && STORAGES.containsKey(name)) return new Global(module, name);
        throw err("forbidden global " + full + " (only the tensor rebuild functions, storage types, OrderedDict and inert numpy/Lightning names may appear)");
    }

    private Object reduce(Object f, Object args) {
        if (!(f instanceof Global g)) throw err("REDUCE on " + describe(f) + " (only a named function may be applied)");
        if (!(args instanceof Tuple t)) throw err("REDUCE of " + g + " with arguments " + describe(args) + " (not a tuple)");
        String full = g.toString();
        switch (full) {
            case ORDERED_DICT -> {
                Map<Object, Object> d = new LinkedHashMap<>();
                if (t.size() == 1 && t.get(0) instanceof List<?> pairs) {
                    for (Object p : pairs) {
                        if (!(p instanceof Tuple pt && pt.size() == 2) && !(p instanceof List<?> pl && pl.size() == 2)) throw err("OrderedDict of non-pairs");
                        List<?> kv = p instanceof Tuple pt2 ? pt2.items() : (List<?>) p;
                        putPairs(d, new ArrayList<>(kv));
                    }
                } else if (t.size() != 0) {
                    throw err("OrderedDict called with " + t.size() + " arguments");
                }
                return d;
            }
            case REBUILD_TENSOR -> { return rebuildTensor(t); }
            case REBUILD_PARAMETER -> {
                if (t.size() < 1 || !(t.get(0) instanceof TensorRef tr)) throw err("_rebuild_parameter without a tensor");
                return tr;
            }
            default -> {
                if (TOLERATED.contains(full)) return new Opaque(g);
                throw err("REDUCE of " + full + " is refused (storage types are never called)");
            }
        }
    }

    private Object newObj(Object cls, Object args) {
        if (cls instanceof Global g && TOLERATED.contains(g.toString())) return new Opaque(g);
        throw err("NEWOBJ of " + describe(cls) + " is refused (only placeholders of tolerated names)");
    }

    private TensorRef rebuildTensor(Tuple t) {
        if (t.size() < 4) throw err("_rebuild_tensor_v2 with " + t.size() + " arguments");
        if (!(t.get(0) instanceof StorageRef s)) throw err("_rebuild_tensor_v2 on " + describe(t.get(0)) + " (not a storage)");
        long offset = nonNegative(t.get(1), "storage offset");
        long[] size = longs(t.get(2), "size");
        long[] stride = longs(t.get(3), "stride");
        if (size.length != stride.length) throw err("tensor size " + Arrays.toString(size) + " and stride " + Arrays.toString(stride) + " differ in rank");
        return new TensorRef(s, offset, size, stride);
    }

    private long nonNegative(Object o, String what) {
        if (!(o instanceof Long l) || l < 0) throw err("tensor " + what + " " + describe(o) + " is not a non-negative integer");
        return l;
    }

    private long[] longs(Object o, String what) {
        if (!(o instanceof Tuple t)) throw err("tensor " + what + " " + describe(o) + " is not a tuple");
        if (t.size() > 64) throw err("tensor " + what + " of rank " + t.size());
        long[] v = new long[t.size()];
        for (int i = 0; i < v.length; i++) v[i] = nonNegative(t.get(i), what);
        return v;
    }

    static String describe(Object o) {
        if (o == null) return "None";
        if (o instanceof Global g) return "the name " + g;
        if (o instanceof Opaque p) return "a placeholder " + p;
        if (o instanceof StorageRef) return "a storage";
        if (o instanceof TensorRef) return "a tensor";
        if (o instanceof Map) return "a dict";
        if (o instanceof List) return "a list";
        if (o instanceof Tuple) return "a tuple";
        if (o instanceof String s) return "'" + (s.length() > 40 ? s.substring(0, 40) + "…" : s) + "'";
        return o.getClass().getSimpleName() + " " + o;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // scalars

    private static Object longOf(byte[] le) {
        if (le.length == 0) return 0L;
        byte[] be = new byte[le.length];
        for (int i = 0; i < le.length; i++) be[i] = le[le.length - 1 - i];
        BigInteger b = new BigInteger(be);
        return b.bitLength() < 64 ? (Object) b.longValue() : b;
    }

    private long parseInt(String s) {
        try {
            if (s.equals("00")) return 0;
            if (s.equals("01")) return 1;
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            throw err("bad integer '" + s + "'");
        }
    }

    private Object parseIntText(String s) {
        try {
            BigInteger b = new BigInteger(s.trim());
            return b.bitLength() < 64 ? (Object) b.longValue() : b;
        } catch (NumberFormatException e) {
            throw err("bad integer '" + s + "'");
        }
    }

    private double parseFloat(String s) {
        try {
            return Double.parseDouble(s.trim());
        } catch (NumberFormatException e) {
            throw err("bad float '" + s + "'");
        }
    }

    private static String utf8(byte[] b) { return new String(b, StandardCharsets.UTF_8); }

    private static String latin1(byte[] b) { return new String(b, StandardCharsets.ISO_8859_1); }

    private String quoted(String s) {
        if (s.length() >= 2 && (s.charAt(0) == '\'' || s.charAt(0) == '"') && s.charAt(s.length() - 1) == s.charAt(0)) return s.substring(1, s.length() - 1);
        throw err("bad quoted string");
    }

    static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
}
