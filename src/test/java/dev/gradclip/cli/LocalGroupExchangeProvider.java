package dev.gradclip.cli;

import dev.gradclip.distributed.ExchangeConnection;
import dev.gradclip.distributed.ExchangeProvider;
import dev.gradclip.distributed.GradientExchange;
import dev.gradclip.distributed.LocalGroup;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A test {@link ExchangeProvider} whose ranks are threads of this JVM: the ranks that open the same
 * rendezvous URI share one {@link LocalGroup} (no socket is opened; the URI is only a key). Registered
 * per test through a context class loader (ShardedClipTest), so the core's class path itself has no provider.
 */
public final class LocalGroupExchangeProvider implements ExchangeProvider {
    private static final Map<URI, LocalGroup> GROUPS = new ConcurrentHashMap<>();

    public LocalGroupExchangeProvider() {
    }

    @Override
    public String name() {
        return "local-threads";
    }

    @Override
    public ExchangeConnection open(int rank, int worldSize, URI rendezvous, Duration timeout) {
        LocalGroup group = GROUPS.computeIfAbsent(rendezvous, u -> LocalGroup.create(worldSize, timeout));
        GradientExchange endpoint = group.rank(rank);
        return new ExchangeConnection() {
            @Override
            public int rank() {
                return endpoint.rank();
            }

            @Override
            public int worldSize() {
                return endpoint.worldSize();
            }

            @Override
            public long[][] allGather(long[] local) {
                return endpoint.allGather(local);
            }

            @Override
            public void close() {
                // the group belongs to every rank; nothing of this rank's to release
            }
        };
    }
}
