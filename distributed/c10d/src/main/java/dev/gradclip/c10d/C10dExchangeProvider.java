package dev.gradclip.c10d;

import dev.gradclip.distributed.ExchangeConnection;
import dev.gradclip.distributed.ExchangeProvider;
import java.net.URI;
import java.time.Duration;

/**
 * The {@link ExchangeProvider} of this module (registered in
 * {@code META-INF/services/dev.gradclip.distributed.ExchangeProvider}): {@link C10dExchange} on a
 * {@code TCPStore} at {@code tcp://HOST:PORT} and a Gloo process group. The command line's
 * {@code gradclip clip --rank R --world-size W --rendezvous tcp://HOST:PORT} finds it on its class path.
 */
public final class C10dExchangeProvider implements ExchangeProvider {
    /** For {@link java.util.ServiceLoader}. */
    public C10dExchangeProvider() {
    }

    @Override
    public String name() {
        return "c10d";
    }

    /** {@link C10dExchange#connect}: rank 0 runs the store on PORT, every rank joins the Gloo group. */
    @Override
    public ExchangeConnection open(int rank, int worldSize, URI rendezvous, Duration timeout) {
        return C10dExchange.connect(rendezvous, rank, worldSize, timeout);
    }
}
