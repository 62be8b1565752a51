package io.sdj.weights;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Hand-assembled torch zip checkpoints: views (offset, strides, shared storages), nested state dicts, and the
 * refusals of the safe reading policy that the golden hostile files do not reach.
 */
class TorchCheckpointTest {
    @TempDir
    Path tmp;

    /** A tiny pickle writer for the opcodes torch.save uses (protocol 2). */
    static final class Pickle {
        final ByteArrayOutputStream b = new ByteArrayOutputStream();

        Pickle op(int... bytes) { for (int x : bytes) b.write(x); return this; }
        Pickle str(String s) {
            byte[] u = s.getBytes(StandardCharsets.UTF_8);
            op('X');
            b.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(u.length).array());
            b.writeBytes(u);
            return this;
        }
        Pickle global(String module, String name) { op('c'); b.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8)); return this; }
        Pickle integer(int v) { op('J'); b.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array()); return this; }
        Pickle ints(int... v) { op('('); for (int x : v) integer(x); return op('t'); }
        /** _rebuild_tensor_v2(('storage', FloatStorage, key, 'cpu', numel), offset, size, stride, False, OrderedDict()) */
        Pickle tensor(String key, int numel, int offset, int[] size, int[] stride) {
            global("torch._utils", "_rebuild_tensor_v2");
            op('(');
            op('(').str("storage").global("torch", "FloatStorage").str(key).str("cpu").integer(numel).op('t').op('Q');
            integer(offset).ints(size).ints(stride).op(0x89);
            global("collections", "OrderedDict").op(')').op('R');
            op('t').op('R');
            return this;
        }
        byte[] bytes() { return b.toByteArray(); }
    }

    static Pickle begin() { return new Pickle().op(0x80, 2); }

    /** A zip as torch writes it: STORED records under one folder. */
    static Path zip(Path file, String folder, byte[] pickle, Map<String, byte[]> storages) throws IOException {
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream z = new ZipOutputStream(os)) {
            Map<String, byte[]> all = new LinkedHashMap<>();
            all.put(folder + "/data.pkl", pickle);
            storages.forEach((k, v) -> all.put(folder + "/data/" + k, v));
            all.put(folder + "/version", "3\n".getBytes());
            for (var e : all.entrySet()) {
                ZipEntry ze = new ZipEntry(e.getKey());
                ze.setMethod(ZipEntry.STORED);
                ze.setSize(e.getValue().length);
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                ze.setCrc(crc.getValue());
                z.putNextEntry(ze);
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return file;
    }

    static byte[] floats(float... v) {
        ByteBuffer bb = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) bb.putFloat(f);
        return bb.array();
    }

    @Test
    void viewsWithOffsetsStridesAndSharedStoragesAndANestedStateDict() throws IOException {
        // top = {"state_dict": {"a": storage0[1:5] as [2,2], "t": transpose of a 2x3 (stride (1,3)), "s": same storage as a}, "epoch": 1}
        Pickle p = begin().op('}').str("state_dict").op('}').op('(');
        p.str("a").tensor("0", 8, 1, new int[]{2, 2}, new int[]{2, 1});
        p.str("t").tensor("1", 6, 0, new int[]{3, 2}, new int[]{1, 3});
        p.str("s").tensor("0", 8, 4, new int[]{4}, new int[]{1});
        p.op('u').op('s').str("epoch").integer(1).op('s').op('.');
        Path f = zip(tmp.resolve("views.ckpt"), "any-folder-name", p.bytes(),
                Map.of("0", floats(0, 1, 2, 3, 4, 5, 6, 7), "1", floats(10, 11, 12, 13, 14, 15)));
        try (TorchCheckpoint ck = TorchCheckpoint.open(f)) {
            assertThat(ck.names()).containsExactly("a", "t", "s");
            assertThat(ck.get("a").toFloats()).containsExactly(1, 2, 3, 4);
            assertThat(ck.shape("t")).containsExactly(3, 2);
            // [3,2] with strides (1,3) over 10..15: row i = (10+i, 13+i)
            assertThat(ck.get("t").toFloats()).containsExactly(10, 13, 11, 14, 12, 15);
            assertThat(ck.get("s").toFloats()).containsExactly(4, 5, 6, 7);
            assertThat(ck.bytes("t").isMapped()).isFalse();   // a strided view is gathered
        }
    }

    @Test
    void aViewReachingPastItsStorageIsRefused() throws IOException {
        Pickle p = begin().op('}').str("w").tensor("0", 4, 2, new int[]{2, 2}, new int[]{2, 1}).op('s').op('.');
        Path f = zip(tmp.resolve("oob.ckpt"), "archive", p.bytes(), Map.of("0", floats(0, 1, 2, 3)));
        assertThatThrownBy(() -> TorchCheckpoint.open(f)).isInstanceOf(WeightsFormatException.class)
                .hasMessageContaining("tensor 'w'").hasMessageContaining("reaches element 5 of a storage of 4");
    }

    @Test
    void hugeSizesOverflowCleanly() throws IOException {
        Pickle p = begin().op('}').str("w").tensor("0", 4, 0, new int[]{1 << 30, 1 << 30, 1 << 30}, new int[]{1, 1, 1}).op('s').op('.');
        Path f = zip(tmp.resolve("huge.ckpt"), "archive", p.bytes(), Map.of("0", floats(0, 1, 2, 3)));
        assertThatThrownBy(() -> TorchCheckpoint.open(f)).hasMessageContaining("tensor 'w'");
    }

    @Test
    void theSameStorageDeclaredWithAnotherSizeIsRefused() throws IOException {
        Pickle p = begin().op('}').str("a").tensor("0", 4, 0, new int[]{4}, new int[]{1})
                .str("b").tensor("0", 8, 0, new int[]{4}, new int[]{1}).op('s').op('s').op('.');
        Path f = zip(tmp.resolve("twice.ckpt"), "archive", p.bytes(), Map.of("0", floats(0, 1, 2, 3)));
        assertThatThrownBy(() -> TorchCheckpoint.open(f)).hasMessageContaining("storage 0 declared twice");
    }

    @Test
    void callingAStorageTypeOrBuildingADictIsRefused() throws IOException {
        Pickle call = begin().global("torch", "FloatStorage").op(')').op('R').op('.');
        Path f1 = zip(tmp.resolve("call.ckpt"), "archive", call.bytes(), Map.of());
        assertThatThrownBy(() -> TorchCheckpoint.open(f1)).hasMessageContaining("REDUCE of torch.FloatStorage is refused");
        Pickle build = begin().global("collections", "OrderedDict").op(')').op('R').op('}').op('b').op('.');
        Path f2 = zip(tmp.resolve("build.ckpt"), "archive", build.bytes(), Map.of());
        assertThatThrownBy(() -> TorchCheckpoint.open(f2)).hasMessageContaining("BUILD on a dict");
        Pickle newobj = begin().global("collections", "OrderedDict").op(')').op(0x81).op('.');
        Path f3 = zip(tmp.resolve("newobj.ckpt"), "archive", newobj.bytes(), Map.of());
        assertThatThrownBy(() -> TorchCheckpoint.open(f3)).hasMessageContaining("NEWOBJ of the name collections.OrderedDict");
        Pickle memo = begin().op('h', 9).op('.');
        Path f4 = zip(tmp.resolve("memo.ckpt"), "archive", memo.bytes(), Map.of());
        assertThatThrownBy(() -> TorchCheckpoint.open(f4)).hasMessageContaining("memo entry 9");
    }

    @Test
    void toleratedNamesStayInert() throws IOException {
        // {"step": numpy.core.multiarray.scalar(numpy.dtype('i8'), b'...'), "w": tensor}
        Pickle p = begin().op('}').op('(')
                .str("step").global("numpy.core.multiarray", "scalar").global("numpy", "dtype").op('(').str("i8").op(0x89).op(0x88).op('t').op('R')
                .op('(').integer(3).op('t').op('b').op('C', 8).op(0, 0, 0, 0, 0, 0, 0, 0).op(0x86).op('R')
                .str("w").tensor("0", 2, 0, new int[]{2}, new int[]{1}).op('u').op('.');
        Path f = zip(tmp.resolve("numpy.ckpt"), "archive", p.bytes(), Map.of("0", floats(5, 6)));
        try (TorchCheckpoint ck = TorchCheckpoint.open(f)) {
            assertThat(ck.names()).containsExactly("w");
            assertThat(ck.get("w").toFloats()).containsExactly(5, 6);
        }
    }

    @Test
    void membersOutsideTheOneFolderOrUnknownAreRefused() throws IOException {
        Pickle p = begin().op('}').op('.');
        Path f = tmp.resolve("two.ckpt");
        try (OutputStream os = Files.newOutputStream(f); ZipOutputStream z = new ZipOutputStream(os)) {
            for (String n : new String[]{"a/data.pkl", "b/version"}) {
                byte[] v = n.endsWith("pkl") ? p.bytes() : "3\n".getBytes();
                ZipEntry ze = new ZipEntry(n);
                ze.setMethod(ZipEntry.STORED);
                ze.setSize(v.length);
                CRC32 crc = new CRC32();
                crc.update(v);
                ze.setCrc(crc.getValue());
                z.putNextEntry(ze);
                z.write(v);
            }
        }
        assertThatThrownBy(() -> TorchCheckpoint.open(f)).hasMessageContaining("two top-level folders");
        Path g = zip(tmp.resolve("extra.ckpt"), "archive", p.bytes(), Map.of("../../evil", new byte[1]));
        assertThatThrownBy(() -> TorchCheckpoint.open(g)).hasMessageContaining("unexpected entry");
    }

    @Test
    void anEmptyStateDictReadsAsNoTensors() throws IOException {
        Path f = zip(tmp.resolve("empty.pt"), "archive", begin().op('}').op('.').bytes(), Map.of());
        try (TorchCheckpoint ck = TorchCheckpoint.open(f)) {
            assertThat(ck.names()).isEmpty();
            assertThat(ck.format()).isEqualTo("zip");
        }
        assertThat(ValueLayout.JAVA_FLOAT.byteSize()).isEqualTo(4);
    }
}
