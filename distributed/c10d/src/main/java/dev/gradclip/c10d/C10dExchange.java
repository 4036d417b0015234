package dev.gradclip.c10d;

import dev.gradclip.distributed.ExchangeConnection;
import dev.gradclip.distributed.ExchangeException;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Objects;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.GlooDeviceVector;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.Work;
import org.bytedeco.pytorch.global.torch;

/**
 * A {@link dev.gradclip.distributed.GradientExchange} on PyTorch's c10d: a {@code TCPStore} for the rendezvous and a
 * {@code ProcessGroupGloo} for the all-gather, through the JavaCPP PyTorch presets. CPU processes use
 * Gloo over TCP; no transport of gradclip's own is involved.
 *
 * <p>Rendezvous {@code tcp://HOST:PORT}: rank 0 runs the store's server on PORT, every rank connects to
 * HOST:PORT, and Gloo's connections bind to the interface that HOST resolves to (use 127.0.0.1 for ranks
 * on one machine). <b>The store's server listens on every interface</b> (c10d's TCPStore has no bind
 * address): on a shared network, firewall the port; it accepts any client that connects.
 *
 * <p>One all-gather of variable-length {@code long[]} costs two Gloo all-gathers (the lengths, then the
 * words padded to the longest). Every failure (a rank missing at the rendezvous, a peer killed or stalled
 * beyond the timeout) becomes an {@link ExchangeException} with a short message; c10d's C++ stack trace
 * is kept as the cause only. Not thread-safe: one exchange per rank, used by one thread. Close it to
 * release the process group and the store (the store is kept strongly reachable until then, since the
 * group uses it).
 */
public final class C10dExchange implements ExchangeConnection {
    private final int rank;
    private final int worldSize;
    private final Duration timeout;
    private TCPStore store;
    private ProcessGroupGloo group;

    private C10dExchange(int rank, int worldSize, Duration timeout, TCPStore store, ProcessGroupGloo group) {
        this.rank = rank;
        this.worldSize = worldSize;
        this.timeout = timeout;
        this.store = store;
        this.group = group;
    }

    /**
     * Joins the group at {@code rendezvous}; blocks until every rank has joined or the timeout passes.
     *
     * @param rendezvous {@code tcp://HOST:PORT}
     * @throws IllegalArgumentException for a malformed rendezvous, a rank outside [0, worldSize) or a
     *     non-positive timeout
     * @throws ExchangeException if the group cannot be formed in time
     */
    public static C10dExchange connect(URI rendezvous, int rank, int worldSize, Duration timeout) {
        Objects.requireNonNull(rendezvous, "rendezvous is null");
        Objects.requireNonNull(timeout, "timeout is null");
        if (!"tcp".equals(rendezvous.getScheme()) || rendezvous.getHost() == null || rendezvous.getPort() <= 0
                || rendezvous.getPort() > 65_535) {
            throw new IllegalArgumentException("rendezvous must be tcp://HOST:PORT, got " + rendezvous);
        }
        if (worldSize < 1) throw new IllegalArgumentException("world size " + worldSize + " must be >= 1");
        if (rank < 0 || rank >= worldSize) throw new IllegalArgumentException("rank " + rank + " is outside [0, " + worldSize + ")");
        if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("timeout " + timeout + " must be positive");
        loadLibtorch();
        String host = rendezvous.getHost();
        Milliseconds ms = new Milliseconds(timeout.toMillis());
        TCPStore store = null;
        try {
            TCPStoreOptions options = new TCPStoreOptions();
            options.port((short) rendezvous.getPort());
            options.isServer(rank == 0);
            options.numWorkers(new SizeTPointer(1).put(worldSize));
            options.timeout(ms);
            store = new TCPStore(host, options);
            ProcessGroupGloo.Options groupOptions = ProcessGroupGloo.Options.create(ms);
            GlooDeviceVector devices = new GlooDeviceVector(1);
            devices.put(0, ProcessGroupGloo.createDeviceForHostname(host));
            groupOptions.devices(devices);
            ProcessGroupGloo group = new ProcessGroupGloo(store, rank, worldSize, groupOptions);
            return new C10dExchange(rank, worldSize, timeout, store, group);
        } catch (RuntimeException e) {
            if (store != null) store.close();
            throw new ExchangeException("rank " + rank + " could not join the c10d group at " + rendezvous + " within "
                    + timeout.toMillis() + " ms: " + firstLine(e), e);
        }
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int worldSize() {
        return worldSize;
    }

    @Override
    public long[][] allGather(long[] local) {
        Objects.requireNonNull(local, "local contribution is null");
        if (group == null) throw new ExchangeException("the c10d exchange of rank " + rank + " is closed");
        try {
            long[] lengths = gatherFixed(new long[] {local.length});
            long longest = 0;
            for (long n : lengths) {
                if (n < 0 || n > Integer.MAX_VALUE - 8) throw new ExchangeException("a rank announced " + n + " words");
                longest = Math.max(longest, n);
            }
            long[] padded = java.util.Arrays.copyOf(local, (int) Math.max(1, longest));
            long[] all = gatherFixed(padded);
            long[][] out = new long[worldSize][];
            for (int r = 0; r < worldSize; r++) {
                out[r] = java.util.Arrays.copyOfRange(all, r * padded.length, r * padded.length + (int) lengths[r]);
            }
            return out;
        } catch (ExchangeException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new ExchangeException("the c10d all-gather failed on rank " + rank + " (a peer left, failed or did not arrive within "
                    + timeout.toMillis() + " ms): " + firstLine(e), e);
        }
    }

    /** Gloo all-gather of equally long int64 vectors: rank r's words at [r·n, (r+1)·n). */
    private long[] gatherFixed(long[] words) {
        int n = words.length;
        Tensor in = longZeros(n);
        Tensor out = longZeros((long) n * worldSize);
        Work work = null;
        try {
            new LongPointer(in.data_ptr()).capacity(n).put(words);
            work = group._allgather_base(out, in);
            if (!work._wait(new Milliseconds(timeout.toMillis()))) {
                throw new ExchangeException("the c10d all-gather timed out on rank " + rank + " after " + timeout.toMillis() + " ms");
            }
            long[] result = new long[n * worldSize];
            new LongPointer(out.data_ptr()).capacity(result.length).get(result);
            return result;
        } finally {
            // every native object of the call is released here, while the group is alive, not by the GC later
            if (work != null) work.close();
            in.close();
            out.close();
        }
    }

    /** A new int64 tensor of {@code n} zeros (the float tensor it is converted from is released at once). */
    private static Tensor longZeros(long n) {
        Tensor f = torch.zeros(n);
        try {
            return f.to(torch.ScalarType.Long);
        } finally {
            f.close();
        }
    }

    /** Releases the process group, then the store. Idempotent. */
    @Override
    public void close() {
        if (group != null) {
            group.close();
            group = null;
        }
        if (store != null) {
            store.close();
            store = null;
        }
    }

    private static String firstLine(Throwable e) {
        String m = String.valueOf(e.getMessage());
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    private static volatile boolean loaded;

    /**
     * Unpacks the presets' native folder before the first load: on a machine with Debian's libtorch 1.13
     * the first load into an empty JavaCPP cache otherwise resolved the system's libtorch and crashed.
     * Processes that start together unpack one at a time (a file lock in JavaCPP's cache folder).
     */
    static void loadLibtorch() {
        if (loaded) return;
        synchronized (C10dExchange.class) {
            if (loaded) return;
            String folder = "/org/bytedeco/pytorch/" + Loader.getPlatform() + "/";
            // ranks started together from an empty cache raced on the extraction: one process unpacks at a time
            try (FileChannel lockFile = FileChannel.open(new File(Loader.getCacheDir(), ".gradclip-pytorch-unpack.lock").toPath(),
                    StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                FileLock lock = lockFile.lock();
                try {
                    Loader.cacheResources(folder);
                    Loader.load(torch.class);
                } finally {
                    lock.release();
                }
            } catch (IOException e) {
                throw new UncheckedIOException("could not unpack the PyTorch presets' native libraries from " + folder, e);
            }
            loaded = true;
        }
    }
}
