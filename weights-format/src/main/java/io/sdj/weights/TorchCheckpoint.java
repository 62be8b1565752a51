package io.sdj.weights;

import io.sdj.core.DType;
import io.sdj.core.WeightTensor;
import io.sdj.weights.PickleMachine.StorageRef;
import io.sdj.weights.PickleMachine.TensorRef;
import io.sdj.weights.PickleMachine.Tuple;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A pickled PyTorch checkpoint ({@code .ckpt}, {@code .pt}, {@code .pth}, {@code .bin}) read without running any code
 * (see the golden README, "Pickled checkpoints"): the zip format of torch ≥ 1.6 ({@link TorchZip}: one top-level
 * folder of any name, {@code data.pkl} + {@code data/<key>} storage records) and the legacy format (five pickles
 * followed by the storages). The pickles are interpreted by {@link PickleMachine}, which imports and calls nothing.
 * The tensors are the values of the top-level {@code "state_dict"} entry when the top level is a dict holding it,
 * else of the top level; everything else is ignored. Contiguous tensors are zero-copy slices of the memory-mapped
 * file; strided views are gathered into memory owned by this object.
 */
public final class TorchCheckpoint implements TensorFile {
    private static final BigInteger LEGACY_MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);

    /** One tensor: dtype (safetensors name), shape and bytes. */
    private record Stored(String dtype, long[] shape, MemorySegment bytes) {}

    private final Path path;
    private final Arena arena;
    private final Map<String, Stored> tensors;
    private final String format;

    private TorchCheckpoint(Path path, Arena arena, Map<String, Stored> tensors, String format) {
        this.path = path;
        this.arena = arena;
        this.tensors = tensors;
        this.format = format;
    }

    /** True for the file names pickled checkpoints go by. */
    public static boolean isPickleName(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".ckpt") || n.endsWith(".pt") || n.endsWith(".pth") || n.endsWith(".bin");
    }

    public static TorchCheckpoint open(Path path) {
        long size;
        try {
            size = Files.size(path);
        } catch (IOException e) {
            throw new WeightsFormatException(path + ": cannot read: " + e.getMessage(), e);
        }
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment all = size == 0 ? MemorySegment.ofArray(new byte[0]) : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            if (size >= 4 && all.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0) == 0x04034b50) {
                return new TorchCheckpoint(path, arena, readZip(path, all, arena), "zip");
            }
            if (size >= 2 && (all.get(ValueLayout.JAVA_BYTE, 0) & 0xff) == 0x80) {
                return new TorchCheckpoint(path, arena, readLegacy(path, all, arena), "legacy");
            }
            throw new WeightsFormatException(path + ": not a PyTorch checkpoint (neither a zip archive nor a legacy pickle)");
        } catch (IOException e) {
            arena.close();
            throw new WeightsFormatException(path + ": cannot map: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            if (e instanceof WeightsFormatException w && w.getMessage() != null && w.getMessage().startsWith(path.toString())) throw w;
            throw new WeightsFormatException(path + ": " + e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // zip (torch >= 1.6)

    private static Map<String, Stored> readZip(Path path, MemorySegment all, Arena arena) {
        TorchZip zip = TorchZip.read(all);
        Map<String, StorageRef> storages = new LinkedHashMap<>();
        String where = zip.prefix() + "data.pkl";
        Object top = PickleMachine.run(zip.member("data.pkl"), where, pid -> declare(storages, pid, 5, where));
        Map<String, TensorRef> refs = stateDict(top);
        Map<String, Stored> out = new LinkedHashMap<>();
        for (Map.Entry<String, TensorRef> e : refs.entrySet()) {
            StorageRef s = e.getValue().storage();
            String member = "data/" + s.key();
            if (!zip.has(member)) throw new WeightsFormatException("tensor '" + e.getKey() + "': storage record " + zip.prefix() + member + " missing");
            out.put(e.getKey(), view(e.getKey(), e.getValue(), storageBytes(e.getKey(), zip.member(member), s, zip.prefix() + member), arena));
        }
        return Collections.unmodifiableMap(out);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // legacy (torch < 1.6, or _use_new_zipfile_serialization=False)

    private static Map<String, Stored> readLegacy(Path path, MemorySegment all, Arena arena) {
        PickleMachine.Result magic = PickleMachine.run(all, 0, "legacy magic pickle", null);
        if (!LEGACY_MAGIC.equals(magic.value() instanceof Long l ? BigInteger.valueOf(l) : magic.value())) {
            throw new WeightsFormatException("not a PyTorch checkpoint (a pickle, but not torch's legacy magic number)");
        }
        PickleMachine.Result proto = PickleMachine.run(all, magic.end(), "legacy protocol pickle", null);
        if (!Long.valueOf(1001).equals(proto.value())) throw new WeightsFormatException("legacy protocol " + proto.value() + " (only 1001 is known)");
        PickleMachine.Result sys = PickleMachine.run(all, proto.end(), "legacy sys_info pickle", null);
        if (!(sys.value() instanceof Map<?, ?> info) || !Boolean.TRUE.equals(info.get("little_endian"))) {
            throw new WeightsFormatException("legacy sys_info is not little-endian: " + sys.value());
        }
        Map<String, StorageRef> storages = new LinkedHashMap<>();
        PickleMachine.Result obj = PickleMachine.run(all, sys.end(), "legacy object pickle", pid -> declare(storages, pid, 6, "legacy object pickle"));
        PickleMachine.Result keys = PickleMachine.run(all, obj.end(), "legacy storage-key pickle", null);
        if (!(keys.value() instanceof List<?> keyList)) throw new WeightsFormatException("legacy storage keys are not a list");
        List<String> order = new ArrayList<>();
        for (Object k : keyList) {
            if (!(k instanceof String s)) throw new WeightsFormatException("legacy storage key " + PickleMachine.describe(k) + " is not a string");
            order.add(s);
        }
        if (!Set.copyOf(order).equals(storages.keySet()) || order.size() != storages.size()) {
            throw new WeightsFormatException("legacy storage key list " + abbreviate(order) + " does not match the storages the object uses " + abbreviate(storages.keySet()));
        }
        Map<String, MemorySegment> records = new LinkedHashMap<>();
        long pos = keys.end();
        long size = all.byteSize();
        for (String k : order) {
            StorageRef s = storages.get(k);
            if (size - pos < 8) throw new WeightsFormatException("storage " + k + ": record truncated (no element count at offset " + pos + ")");
            long count = all.get(PickleMachine.I64, pos);
            pos += 8;
            if (count != s.numel()) throw new WeightsFormatException("storage " + k + ": record holds " + count + " elements, the pickle declares " + s.numel());
            long bytes = multiply(count, s.elementSize(), "storage " + k);
            if (bytes > size - pos) throw new WeightsFormatException("storage " + k + ": " + bytes + " bytes declared at offset " + pos + " but the file ends after " + (size - pos));
            records.put(k, all.asSlice(pos, bytes));
            pos += bytes;
        }
        if (pos != size) throw new WeightsFormatException((size - pos) + " trailing bytes after the last storage record");
        Map<String, Stored> out = new LinkedHashMap<>();
        for (Map.Entry<String, TensorRef> e : stateDict(obj.value()).entrySet()) {
            StorageRef s = e.getValue().storage();
            out.put(e.getKey(), view(e.getKey(), e.getValue(), storageBytes(e.getKey(), records.get(s.key()), s, "legacy record"), arena));
        }
        return Collections.unmodifiableMap(out);
    }

    private static String abbreviate(java.util.Collection<String> c) {
        List<String> l = new ArrayList<>(c);
        return l.size() <= 5 ? l.toString() : l.subList(0, 5) + " … (" + l.size() + ")";
    }

    // ---------------------------------------------------------------------------------------------------------------

    /** A BINPERSID tuple: ('storage', torch.XStorage, key, location, numel[, None]). */
    private static StorageRef declare(Map<String, StorageRef> storages, Object pid, int arity, String where) {
        if (!(pid instanceof Tuple t) || t.size() != arity || !"storage".equals(t.get(0))) {
            throw new WeightsFormatException(where + ": persistent id " + PickleMachine.describe(pid) + " is not a " + arity + "-tuple ('storage', type, key, location, numel"
                    + (arity == 6 ? ", None)" : ")"));
        }
        if (!(t.get(1) instanceof PickleMachine.Global g) || !g.module().equals("torch") || !PickleMachine.STORAGES.containsKey(g.name())) {
            throw new WeightsFormatException(where + ": persistent id names storage type " + PickleMachine.describe(t.get(1)));
        }
        if (!(t.get(2) instanceof String key)) throw new WeightsFormatException(where + ": storage key " + PickleMachine.describe(t.get(2)) + " is not a string");
        if (!(t.get(4) instanceof Long numel) || numel < 0) throw new WeightsFormatException(where + ": storage " + key + " has element count " + PickleMachine.describe(t.get(4)));
        if (arity == 6 && t.get(5) != null) throw new WeightsFormatException(where + ": storage " + key + " is a legacy storage view (view metadata " + PickleMachine.describe(t.get(5)) + "), not supported");
        String[] dt = PickleMachine.STORAGES.get(g.name());
        StorageRef s = new StorageRef(key, dt[0], Integer.parseInt(dt[1]), numel);
        StorageRef before = storages.putIfAbsent(key, s);
        if (before != null && !before.equals(s)) {
            throw new WeightsFormatException(where + ": storage " + key + " declared twice, as " + before.dtype() + "×" + before.numel() + " and " + s.dtype() + "×" + s.numel());
        }
        return s;
    }

    /** The tensors: of the top-level "state_dict" entry when there is one, else of the top level. */
    private static Map<String, TensorRef> stateDict(Object top) {
        if (!(top instanceof Map<?, ?> m)) throw new WeightsFormatException("the checkpoint's top level is " + PickleMachine.describe(top) + ", not a dict of tensors");
        Object sd = m.containsKey("state_dict") ? m.get("state_dict") : m;
        if (!(sd instanceof Map<?, ?> d)) throw new WeightsFormatException("'state_dict' is " + PickleMachine.describe(sd) + ", not a dict");
        Map<String, TensorRef> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : d.entrySet()) {
            if (e.getKey() instanceof String k && e.getValue() instanceof TensorRef t) out.put(k, t);
        }
        return out;
    }

    /** The storage's record, which must hold exactly numel × element size bytes. */
    private static MemorySegment storageBytes(String tensor, MemorySegment record, StorageRef s, String member) {
        if (record == null) throw new WeightsFormatException("tensor '" + tensor + "': storage record " + member + " missing");
        long need = multiply(s.numel(), s.elementSize(), "tensor '" + tensor + "': storage " + s.key());
        if (record.byteSize() != need) {
            throw new WeightsFormatException("tensor '" + tensor + "': storage " + s.key() + " (" + member + "): " + record.byteSize() + " bytes for "
                    + s.numel() + " elements of " + s.elementSize() + " bytes");
        }
        return record;
    }

    private static long multiply(long a, long b, String what) {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw new WeightsFormatException(what + ": size " + a + " × " + b + " overflows");
        }
    }

    /** The tensor's bytes: a slice when it is contiguous (copied when misaligned), else gathered element by element. */
    private static Stored view(String name, TensorRef t, MemorySegment storage, Arena arena) {
        StorageRef s = t.storage();
        int es = s.elementSize();
        long numel = 1, last = t.offset();
        String where = "tensor '" + name + "'";
        try {
            for (int i = 0; i < t.size().length; i++) {
                numel = Math.multiplyExact(numel, t.size()[i]);
                if (t.size()[i] > 0) last = Math.addExact(last, Math.multiplyExact(t.size()[i] - 1, t.stride()[i]));
            }
        } catch (ArithmeticException e) {
            throw new WeightsFormatException(where + ": size " + java.util.Arrays.toString(t.size()) + " with stride " + java.util.Arrays.toString(t.stride()) + " overflows");
        }
        if (numel > 0 && last >= s.numel()) {
            throw new WeightsFormatException(where + ": view (offset " + t.offset() + ", size " + java.util.Arrays.toString(t.size()) + ", stride "
                    + java.util.Arrays.toString(t.stride()) + ") reaches element " + last + " of a storage of " + s.numel());
        }
        boolean contiguous = true;
        long expect = 1;
        for (int i = t.size().length - 1; i >= 0; i--) {
            if (t.size()[i] != 1 && t.stride()[i] != expect) contiguous = false;
            expect *= t.size()[i];
        }
        if (numel == 0) return new Stored(s.dtype(), t.size(), MemorySegment.ofArray(new byte[0]));
        if (contiguous) {
            MemorySegment slice = storage.asSlice(t.offset() * es, numel * es);
            if (slice.address() % es == 0) return new Stored(s.dtype(), t.size(), slice);
            MemorySegment copy = arena.allocate(slice.byteSize(), es);
            copy.copyFrom(slice);
            return new Stored(s.dtype(), t.size(), copy);
        }
        MemorySegment copy = arena.allocate(numel * es, es);
        long[] idx = new long[t.size().length];
        for (long n = 0; n < numel; n++) {
            long src = t.offset();
            for (int i = 0; i < idx.length; i++) src += idx[i] * t.stride()[i];
            MemorySegment.copy(storage, src * es, copy, n * es, es);
            for (int i = idx.length - 1; i >= 0; i--) {
                if (++idx[i] < t.size()[i]) break;
                idx[i] = 0;
            }
        }
        return new Stored(s.dtype(), t.size(), copy);
    }

    // ---------------------------------------------------------------------------------------------------------------

    /** "zip" or "legacy". */
    public String format() { return format; }

    @Override public Path path() { return path; }

    private Stored stored(String name) {
        Stored s = tensors.get(name);
        if (s == null) throw new WeightsFormatException(path + ": no tensor named '" + name + "'");
        return s;
    }

    @Override public String dtype(String name) { return stored(name).dtype(); }

    @Override public long[] shape(String name) { return stored(name).shape().clone(); }

    @Override public MemorySegment bytes(String name) { return stored(name).bytes(); }

    @Override public boolean contains(String name) { return tensors.containsKey(name); }

    @Override public Set<String> names() { return tensors.keySet(); }

    @Override public String origin() { return path.toString(); }

    @Override
    public WeightTensor get(String name) {
        Stored s = stored(name);
        DType dt = switch (s.dtype()) {
            case "F32" -> DType.F32;
            case "F16" -> DType.F16;
            case "BF16" -> DType.BF16;
            default -> throw new WeightsFormatException(path + ": tensor '" + name + "' has dtype " + s.dtype() + ", expected F32, F16 or BF16");
        };
        int[] shape = new int[s.shape().length];
        for (int i = 0; i < shape.length; i++) shape[i] = Math.toIntExact(s.shape()[i]);
        return new WeightTensor(name, dt, shape, s.bytes(), null);
    }

    @Override
    public void close() { arena.close(); }
}
