package dev.gradclip.distributed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.Backend;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.DType;
import dev.gradclip.GradientSet;
import dev.gradclip.NonFiniteGradientException;
import dev.gradclip.NonFinitePolicy;
import dev.gradclip.NormClip;
import dev.gradclip.NormPartials;
import dev.gradclip.NormType;
import dev.gradclip.Semantics;
import dev.gradclip.Tensor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Sharded clipping against one process, bit for bit: threads as ranks over a {@link LocalGroup}, every
 * dtype, p = 1, 2, ∞ (and a general p for whole tensors), world sizes 1–4, whole and chunk-aligned split
 * tensors, replicas, shuffled arrival, a NaN on one rank under each policy, a missing rank.
 */
class DistributedClipperTest {
    private static final int CHUNK = 65_536;
    private static final ExecutorService POOL = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "rank");
        t.setDaemon(true);
        return t;
    });

    @AfterAll
    static void shutdown() {
        POOL.shutdownNow();
    }

    /** A model: one array per tensor (float[], double[] or short[] bits), in global order. */
    private record Model(DType[] dtypes, Object[] arrays) {
        int size() { return arrays.length; }

        long length(int t) {
            Object a = arrays[t];
            return a instanceof float[] f ? f.length : a instanceof double[] d ? d.length : ((short[]) a).length;
        }

        Model copy() {
            Object[] c = new Object[arrays.length];
            for (int i = 0; i < c.length; i++) {
                Object a = arrays[i];
                c[i] = a instanceof float[] f ? f.clone() : a instanceof double[] d ? d.clone() : ((short[]) a).clone();
            }
            return new Model(dtypes, c);
        }

        Tensor view(int t, long offset, long length) {
            Object a = arrays[t];
            if (a instanceof float[] f) return Tensor.of(f, (int) offset, (int) length);
            if (a instanceof double[] d) return Tensor.of(d, (int) offset, (int) length);
            return Tensor.of((short[]) a, (int) offset, (int) length, dtypes[t]);
        }

        GradientSet whole() {
            List<Tensor> ts = new ArrayList<>();
            for (int t = 0; t < size(); t++) ts.add(view(t, 0, length(t)));
            return GradientSet.of(ts);
        }

        long bits(int t, int i) {
            Object a = arrays[t];
            if (a instanceof float[] f) return Float.floatToRawIntBits(f[i]);
            if (a instanceof double[] d) return Double.doubleToRawLongBits(d[i]);
            return ((short[]) a)[i];
        }
    }

    private static Model model(Random rnd, int tensors, boolean large) {
        DType[] types = {DType.FLOAT32, DType.FLOAT64, DType.FLOAT16, DType.BFLOAT16};
        DType[] dtypes = new DType[tensors];
        Object[] arrays = new Object[tensors];
        for (int t = 0; t < tensors; t++) {
            int n = switch (rnd.nextInt(6)) {
                case 0 -> 0;
                case 1 -> 1 + rnd.nextInt(10);
                case 2, 3 -> 1 + rnd.nextInt(5_000);
                default -> large ? CHUNK * (1 + rnd.nextInt(3)) + rnd.nextInt(3) * rnd.nextInt(40_000) : 1 + rnd.nextInt(70_000);
            };
            DType d = types[rnd.nextInt(types.length)];
            dtypes[t] = d;
            double scale = Math.pow(10, rnd.nextInt(7) - 3);
            switch (d) {
                case FLOAT32 -> {
                    float[] a = new float[n];
                    for (int i = 0; i < n; i++) a[i] = (float) (rnd.nextGaussian() * scale);
                    arrays[t] = a;
                }
                case FLOAT64 -> {
                    double[] a = new double[n];
                    for (int i = 0; i < n; i++) a[i] = rnd.nextGaussian() * scale;
                    arrays[t] = a;
                }
                default -> {
                    short[] a = new short[n];
                    int expMask = d == DType.FLOAT16 ? 0x7c00 : 0x7f80;
                    for (int i = 0; i < n; i++) {
                        int b = rnd.nextInt(1 << 16);
                        if ((b & expMask) == expMask) b &= ~0x4000;
                        a[i] = (short) b;
                    }
                    arrays[t] = a;
                }
            }
        }
        return new Model(dtypes, arrays);
    }

    /** One rank's pieces: (global tensor, offset, length, replicated). */
    private record Piece(int tensor, long offset, long length, boolean replicated) {
    }

    /**
     * Deals the model's tensors to ranks: tensors of at least two chunks are split at chunk-aligned
     * offsets across consecutive ranks when {@code split}, some small ones are replicated on every rank
     * when {@code replicas}, the rest go whole to a random rank.
     */
    private static List<List<Piece>> deal(Model m, int world, Random rnd, boolean split, boolean replicas) {
        List<List<Piece>> ranks = new ArrayList<>();
        for (int r = 0; r < world; r++) ranks.add(new ArrayList<>());
        for (int t = 0; t < m.size(); t++) {
            long n = m.length(t);
            long chunks = (n + CHUNK - 1) / CHUNK;
            if (split && chunks >= 2 && world > 1) {
                long cut = CHUNK * (1 + rnd.nextInt((int) chunks - 1));
                int r0 = rnd.nextInt(world);
                ranks.get(r0).add(new Piece(t, 0, cut, false));
                ranks.get((r0 + 1) % world).add(new Piece(t, cut, n - cut, false));
            } else if (replicas && n < 5_000 && rnd.nextInt(3) == 0) {
                for (int r = 0; r < world; r++) ranks.get(r).add(new Piece(t, 0, n, true));
            } else {
                ranks.get(rnd.nextInt(world)).add(new Piece(t, 0, n, false));
            }
        }
        for (List<Piece> pieces : ranks) java.util.Collections.shuffle(pieces, rnd); // local order is free
        return ranks;
    }

    /** Each rank's views into its own copy of the model (replicas are separate memory on each rank). */
    private static ShardedGradientSet sharded(Model own, List<Piece> pieces) {
        List<Tensor> ts = new ArrayList<>();
        List<ShardSpec> specs = new ArrayList<>();
        for (Piece p : pieces) {
            ts.add(own.view(p.tensor(), p.offset(), p.length()));
            specs.add(new ShardSpec(p.tensor(), own.length(p.tensor()), p.offset(), p.replicated()));
        }
        return ShardedGradientSet.of(GradientSet.of(ts), specs, own.size());
    }

    private static <T> List<T> runRanks(int world, IntFunction<T> body) throws Exception {
        List<Future<T>> futures = new ArrayList<>();
        for (int r = 0; r < world; r++) {
            int rank = r;
            futures.add(POOL.submit(() -> body.apply(rank)));
        }
        List<T> out = new ArrayList<>();
        for (Future<T> f : futures) out.add(f.get(120, TimeUnit.SECONDS));
        return out;
    }

    private static void assertSameBits(Model expected, Model actual, List<Piece> pieces, String what) {
        for (Piece p : pieces) {
            for (long i = p.offset(); i < p.offset() + p.length(); i++) {
                if (expected.bits(p.tensor(), (int) i) != actual.bits(p.tensor(), (int) i)) {
                    throw new AssertionError(what + ": tensor " + p.tensor() + " element " + i + " differs: expected bits "
                            + Long.toHexString(expected.bits(p.tensor(), (int) i)) + ", got "
                            + Long.toHexString(actual.bits(p.tensor(), (int) i)));
                }
            }
        }
    }

    private static Clipper clipperFor(int rank, boolean mixBackends) {
        if (mixBackends && rank % 2 == 1 && Clipper.availableBackends().stream()
                .anyMatch(s -> s.backend() == Backend.EMULATED && s.available())) {
            return Clipper.create(Backend.EMULATED);
        }
        return Clipper.create(Backend.CPU);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void globalClipHasTheBitsOfOneProcess(int world) throws Exception {
        Random rnd = new Random(1000 + world);
        for (int round = 0; round < 6; round++) {
            Model m = model(rnd, 3 + rnd.nextInt(12), true);
            NormType p = switch (round % 3) { case 0 -> NormType.L2; case 1 -> NormType.L1; default -> NormType.INF; };
            boolean split = round % 2 == 0;
            List<List<Piece>> ranks = deal(m, world, rnd, split, true);
            // one process: the reference norm and clip
            Model single = m.copy();
            NormPartials ref;
            ClipReport refReport;
            double maxNorm;
            try (Clipper c = Clipper.create(Backend.CPU)) {
                ref = c.partials(single.whole(), p);
                maxNorm = round < 4 ? ref.totalNorm() / 3 : ref.totalNorm() * 2; // clipping, then not
                refReport = c.clipByGlobalNorm(single.whole(), NormClip.of(maxNorm).withNormType(p));
            }
            NormClip clip = NormClip.of(maxNorm).withNormType(p);
            LocalGroup group = LocalGroup.create(world, Duration.ofSeconds(60));
            List<Model> copies = new ArrayList<>();
            for (int r = 0; r < world; r++) copies.add(m.copy());
            long seed = rnd.nextLong();
            List<ShardedClipReport> reports = runRanks(world, rank -> {
                try (Clipper c = clipperFor(rank, true)) {
                    sleepRandomly(seed + rank); // shuffled arrival
                    return new DistributedClipper(c, group.rank(rank)).clipByGlobalNorm(sharded(copies.get(rank), ranks.get(rank)), clip);
                }
            });
            for (int r = 0; r < world; r++) {
                String what = "world " + world + " round " + round + " p " + p + " rank " + r;
                assertEquals(Double.doubleToRawLongBits(ref.totalNorm()), Double.doubleToRawLongBits(reports.get(r).totalNorm()), what);
                assertEquals(ref, reports.get(r).global(), what + ": global partials");
                assertEquals(Double.doubleToRawLongBits(refReport.scale()), Double.doubleToRawLongBits(reports.get(r).scale()), what);
                assertSameBits(single, copies.get(r), ranks.get(r), what);
            }
        }
    }

    @Test
    void generalPWorksForWholeTensorsAndIsRefusedForSplitOnes() throws Exception {
        Random rnd = new Random(7);
        Model m = model(rnd, 9, false);
        NormType p = NormType.of(3.0);
        NormPartials ref;
        try (Clipper c = Clipper.create(Backend.CPU)) {
            ref = c.partials(m.whole(), p);
        }
        List<List<Piece>> ranks = deal(m, 3, rnd, false, false);
        LocalGroup group = LocalGroup.create(3, Duration.ofSeconds(60));
        List<NormPartials> got = runRanks(3, rank -> {
            try (Clipper c = Clipper.create(Backend.CPU)) {
                return new DistributedClipper(c, group.rank(rank)).globalPartials(sharded(m, ranks.get(rank)), p);
            }
        });
        for (NormPartials g : got) assertEquals(Double.doubleToRawLongBits(ref.totalNorm()), Double.doubleToRawLongBits(g.totalNorm()));

        float[] big = new float[3 * CHUNK];
        for (int i = 0; i < big.length; i++) big[i] = (float) rnd.nextGaussian();
        LocalGroup g2 = LocalGroup.create(2, Duration.ofSeconds(60));
        List<Throwable> errors = runRanks(2, rank -> {
            try (Clipper c = Clipper.create(Backend.CPU)) {
                long off = rank == 0 ? 0 : CHUNK;
                int len = rank == 0 ? CHUNK : 2 * CHUNK;
                ShardedGradientSet s = ShardedGradientSet.of(GradientSet.of(Tensor.of(big, (int) off, len)),
                        List.of(ShardSpec.split(0, big.length, off)), 1);
                new DistributedClipper(c, g2.rank(rank)).globalPartials(s, p);
                return null;
            } catch (ExchangeException e) {
                return e;
            }
        });
        for (Throwable e : errors) {
            assertTrue(e instanceof ExchangeException && e.getMessage().contains("split across ranks"), String.valueOf(e));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"PROPAGATE", "ERROR", "SKIP"})
    void aNaNOnOneRankIsDecidedOnTheGlobalNormByEveryRank(String policyName) throws Exception {
        NonFinitePolicy policy = NonFinitePolicy.valueOf(policyName);
        Random rnd = new Random(31);
        Model m = model(rnd, 8, false);
        int world = 3;
        List<List<Piece>> ranks = deal(m, world, rnd, false, false);
        // a NaN with a payload in a float tensor held by some rank
        int victim = -1;
        for (int t = 0; t < m.size(); t++) if (m.arrays()[t] instanceof float[] f && f.length > 3) victim = t;
        if (victim < 0) {
            m.arrays()[0] = new float[] {1f, 2f, 3f, 4f};
            m.dtypes()[0] = DType.FLOAT32;
            victim = 0;
            ranks = deal(m, world, new Random(5), false, false);
        }
        ((float[]) m.arrays()[victim])[2] = Float.intBitsToFloat(0x7fa00001);
        NormClip clip = NormClip.of(0.5).withNonFinite(policy).withSemantics(Semantics.TORCH);
        Model single = m.copy();
        try (Clipper c = Clipper.create(Backend.CPU)) {
            if (policy == NonFinitePolicy.ERROR) {
                assertThrows(NonFiniteGradientException.class, () -> c.clipByGlobalNorm(single.whole(), clip));
            } else {
                c.clipByGlobalNorm(single.whole(), clip);
            }
        }
        LocalGroup group = LocalGroup.create(world, Duration.ofSeconds(60));
        List<Model> copies = new ArrayList<>();
        for (int r = 0; r < world; r++) copies.add(m.copy());
        List<List<Piece>> dealt = ranks;
        List<Object> outcomes = runRanks(world, rank -> {
            try (Clipper c = Clipper.create(Backend.CPU)) {
                return new DistributedClipper(c, group.rank(rank)).clipByGlobalNorm(sharded(copies.get(rank), dealt.get(rank)), clip);
            } catch (NonFiniteGradientException e) {
                return e;
            }
        });
        for (int r = 0; r < world; r++) {
            Object o = outcomes.get(r);
            if (policy == NonFinitePolicy.ERROR) {
                assertTrue(o instanceof NonFiniteGradientException, "rank " + r + " must throw under ERROR, got " + o);
            } else {
                ShardedClipReport rep = (ShardedClipReport) o;
                assertTrue(Double.isNaN(rep.totalNorm()));
                assertEquals(policy == NonFinitePolicy.SKIP, rep.local().skipped(), "rank " + r);
            }
            assertSameBits(single, copies.get(r), dealt.get(r), policy + " rank " + r);
        }
    }

    @Test
    void aMissingRankFailsEveryOtherRankAndNothingIsWritten() throws Exception {
        Random rnd = new Random(77);
        Model m = model(rnd, 6, false);
        Model original = m.copy();
        List<List<Piece>> ranks = deal(m, 3, rnd, false, false);
        LocalGroup group = LocalGroup.create(3, Duration.ofMillis(500));
        long start = System.nanoTime();
        List<Object> outcomes = runRanks(2, rank -> { // rank 2 never arrives
            try (Clipper c = Clipper.create(Backend.CPU)) {
                return new DistributedClipper(c, group.rank(rank)).clipByGlobalNorm(sharded(m, ranks.get(rank)), NormClip.of(1e-3));
            } catch (ExchangeException e) {
                return e;
            }
        });
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(30));
        for (Object o : outcomes) {
            assertTrue(o instanceof ExchangeException e && e.getMessage().contains("rank(s) 2"), String.valueOf(o));
        }
        for (int r = 0; r < 2; r++) assertSameBits(original, m, ranks.get(r), "rank " + r + " after a failed exchange");
        // the group is broken for good
        assertThrows(ExchangeException.class, () -> group.rank(2).allGather(new long[1]));
    }

    @Test
    void misalignedOffsetsAreRefusedWithTheNearestAlignedOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ShardSpec.split(4, 1_000_000, 100_000));
        assertTrue(e.getMessage().contains("65536") && e.getMessage().contains("131072"), e.getMessage());
        // a replica must be the whole tensor
        IllegalArgumentException r = assertThrows(IllegalArgumentException.class, () -> ShardedGradientSet.of(
                GradientSet.of(Tensor.of(new float[5])), List.of(ShardSpec.replicated(0, 10)), 1));
        assertTrue(r.getMessage().contains("replica"), r.getMessage());
        // a piece that does not end its tensor must be whole chunks
        float[] a = new float[CHUNK + 10];
        IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class, () -> ShardedGradientSet.of(
                GradientSet.of(Tensor.of(a, 0, 100)), List.of(ShardSpec.split(0, 3L * CHUNK, 0)), 1));
        assertTrue(e2.getMessage().contains("multiple of 65,536"), e2.getMessage());
    }

    @Test
    void doubleCountingMissingPiecesAndDifferingReplicasAreRefusedOnEveryRank() throws Exception {
        float[] a = {3f, 4f};
        float[] b = {3f, 4f};
        float[] c2 = {3f, 5f};
        // the same tensor whole on two ranks, not declared replicated: the FSDP double count
        assertAllRanksRefuse(List.of(Tensor.of(a), Tensor.of(b)), List.of(ShardSpec.whole(0, 2), ShardSpec.whole(0, 2)), 1, "counted twice");
        // replicas that differ
        assertAllRanksRefuse(List.of(Tensor.of(a), Tensor.of(c2)), List.of(ShardSpec.replicated(0, 2), ShardSpec.replicated(0, 2)), 1,
                "differ");
        // a global tensor nobody holds
        assertAllRanksRefuse(List.of(Tensor.of(a), Tensor.of(b)), List.of(ShardSpec.whole(0, 2), ShardSpec.whole(1, 2)), 3, "held by no rank");
        assertArrayEquals(new float[] {3f, 4f}, a);
    }

    private static void assertAllRanksRefuse(List<Tensor> perRank, List<ShardSpec> specs, int globalCount, String message) throws Exception {
        LocalGroup group = LocalGroup.create(perRank.size(), Duration.ofSeconds(30));
        List<Object> outcomes = runRanks(perRank.size(), rank -> {
            try (Clipper c = Clipper.create(Backend.CPU)) {
                ShardedGradientSet s = ShardedGradientSet.of(GradientSet.of(perRank.get(rank)), List.of(specs.get(rank)), globalCount);
                return new DistributedClipper(c, group.rank(rank)).clipByGlobalNorm(s, NormClip.of(1.0));
            } catch (ExchangeException e) {
                return e;
            }
        });
        for (Object o : outcomes) {
            assertTrue(o instanceof ExchangeException e && e.getMessage().contains(message), String.valueOf(o));
        }
    }

    private static void sleepRandomly(long seed) {
        try {
            Thread.sleep(new Random(seed).nextInt(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
