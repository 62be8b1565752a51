package io.sdj.bench.peer;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An ONNX model under construction (IR version 8, default opset 17): nodes in topological order, float32 weights
 * stored as external data in {@code <model>.data} (each at a 4096-byte boundary, so a runtime may map them), small
 * int64/float constants inline. Field numbers are those of {@code onnx.proto}. Only what a diffusion UNet needs.
 *
 * <p>Use: {@link #input}, then {@link #node} / {@link #weight} in graph order, {@link #output}, {@link #write}.
 * The data file is written while the graph is built, so a model of several GB never sits in memory.
 */
final class OnnxGraph implements AutoCloseable {
    static final int FLOAT = 1, INT64 = 7;
    static final int OPSET = 17;
    private static final int IR_VERSION = 8;
    private static final int ALIGN = 4096;

    private final List<ProtoWriter> nodes = new ArrayList<>();
    private final List<ProtoWriter> initializers = new ArrayList<>();
    private final List<ProtoWriter> inputs = new ArrayList<>();
    private final List<ProtoWriter> outputs = new ArrayList<>();
    private final Path model, data;
    private final OutputStream dataOut;
    private long dataOffset;
    private int counter;

    /** A node attribute: {@code onnx.AttributeProto} of one of the four kinds used here. */
    record Attr(ProtoWriter proto) {
        static Attr i(String name, long v) { return new Attr(new ProtoWriter().string(1, name).varint(20, 2).varint(3, v)); }
        static Attr f(String name, float v) { return new Attr(new ProtoWriter().string(1, name).varint(20, 1).float32(2, v)); }
        static Attr s(String name, String v) { return new Attr(new ProtoWriter().string(1, name).varint(20, 3).string(4, v)); }
        static Attr ints(String name, long... v) {
            ProtoWriter p = new ProtoWriter().string(1, name).varint(20, 7);
            for (long x : v) p.varint(8, x);
            return new Attr(p);
        }
    }

    /** Starts a model to be written to {@code model}; its weights go to {@code model + ".data"} beside it now. */
    OnnxGraph(Path model) {
        this.model = model;
        this.data = model.resolveSibling(model.getFileName() + ".data");
        try {
            this.dataOut = new BufferedOutputStream(Files.newOutputStream(data), 1 << 20);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + data + ": " + e.getMessage(), e);
        }
    }

    /** A graph input of element type {@code elemType}; each dim an Integer (fixed) or a String (symbolic). */
    String input(String name, int elemType, Object... dims) {
        inputs.add(valueInfo(name, elemType, dims));
        return name;
    }

    /** Declares {@code name} a graph output. */
    void output(String name, int elemType, Object... dims) { outputs.add(valueInfo(name, elemType, dims)); }

    /** One node with one output, named after {@code hint} (made unique); returns the output's name. */
    String node(String op, String hint, List<String> in, Attr... attrs) { return nodeN(op, hint, in, 1, attrs)[0]; }

    String node(String op, String hint, String a, Attr... attrs) { return node(op, hint, List.of(a), attrs); }

    String node(String op, String hint, String a, String b, Attr... attrs) { return node(op, hint, List.of(a, b), attrs); }

    /** One node with {@code outs} outputs. An empty input name stands for an omitted optional input. */
    String[] nodeN(String op, String hint, List<String> in, int outs, Attr... attrs) {
        String base = hint + "/" + op + "_" + (counter++);
        String[] names = new String[outs];
        for (int i = 0; i < outs; i++) names[i] = outs == 1 ? base : base + ":" + i;
        add(op, base, in, names, attrs);
        return names;
    }

    /** One node whose single output has exactly the name {@code output} (a graph output, say). */
    String nodeNamed(String op, String output, List<String> in, Attr... attrs) {
        add(op, output, in, new String[]{output}, attrs);
        return output;
    }

    private void add(String op, String nodeName, List<String> in, String[] out, Attr... attrs) {
        ProtoWriter n = new ProtoWriter();
        for (String s : in) n.string(1, s);
        for (String s : out) n.string(2, s);
        n.string(3, nodeName).string(4, op);
        for (Attr a : attrs) n.message(5, a.proto());
        nodes.add(n);
    }

    /** A float32 initializer stored in the data file. */
    String weight(String name, float[] values, long... dims) {
        long count = 1;
        for (long d : dims) count *= d;
        if (count != values.length) {
            throw new IllegalArgumentException("ONNX weight " + name + ": " + values.length + " values for dims " + java.util.Arrays.toString(dims));
        }
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        long offset = align();
        try {
            dataOut.write(b.array());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + data + ": " + e.getMessage(), e);
        }
        dataOffset += b.capacity();
        ProtoWriter t = tensorHeader(name, FLOAT, dims);
        t.message(13, entry("location", data.getFileName().toString()));
        t.message(13, entry("offset", Long.toString(offset)));
        t.message(13, entry("length", Long.toString(b.capacity())));
        t.varint(14, 1);   // data_location EXTERNAL
        initializers.add(t);
        return name;
    }

    /** A small int64 constant stored in the model itself (shapes, axes, split sizes). */
    String int64s(String hint, long... values) {
        String name = hint + "/const_" + (counter++);
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) b.putLong(v);
        initializers.add(tensorHeader(name, INT64, values.length).bytes(9, b.array()));
        return name;
    }

    /** A small float32 constant stored in the model itself (a scalar when {@code dims} is empty). */
    String floats(String hint, float[] values, long... dims) {
        String name = hint + "/const_" + (counter++);
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) b.putFloat(v);
        initializers.add(tensorHeader(name, FLOAT, dims).bytes(9, b.array()));
        return name;
    }

    String scalar(String hint, float value) { return floats(hint, new float[]{value}); }

    /** Writes the model file (the data file is complete once this returns). */
    void write(String producer) {
        close();
        ProtoWriter g = new ProtoWriter();
        for (ProtoWriter n : nodes) g.message(1, n);
        g.string(2, "main");
        for (ProtoWriter t : initializers) g.message(5, t);
        for (ProtoWriter i : inputs) g.message(11, i);
        for (ProtoWriter o : outputs) g.message(12, o);
        ProtoWriter m = new ProtoWriter()
                .varint(1, IR_VERSION)
                .string(2, producer)
                .message(7, g)
                .message(8, new ProtoWriter().string(1, "").varint(2, OPSET));
        try {
            Files.write(model, m.toByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + model + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            dataOut.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + data + ": " + e.getMessage(), e);
        }
    }

    private long align() {
        long pad = (ALIGN - dataOffset % ALIGN) % ALIGN;
        try {
            for (long i = 0; i < pad; i++) dataOut.write(0);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + data + ": " + e.getMessage(), e);
        }
        dataOffset += pad;
        return dataOffset;
    }

    private static ProtoWriter tensorHeader(String name, int type, long... dims) {
        ProtoWriter t = new ProtoWriter();
        for (long d : dims) t.varint(1, d);
        return t.varint(2, type).string(8, name);
    }

    private static ProtoWriter entry(String key, String value) { return new ProtoWriter().string(1, key).string(2, value); }

    private static ProtoWriter valueInfo(String name, int elemType, Object... dims) {
        ProtoWriter shape = new ProtoWriter();
        for (Object d : dims) {
            ProtoWriter dim = d instanceof Integer n ? new ProtoWriter().varint(1, n) : new ProtoWriter().string(2, d.toString());
            shape.message(1, dim);
        }
        ProtoWriter tensorType = new ProtoWriter().varint(1, elemType).message(2, shape);
        return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
    }
}
