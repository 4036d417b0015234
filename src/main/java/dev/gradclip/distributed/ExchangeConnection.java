package dev.gradclip.distributed;

/**
 * A {@link GradientExchange} that holds resources of its engine (a process group, a rendezvous store, its
 * connections) until it is closed. {@link ExchangeProvider#open} returns one; whoever opened it closes it.
 */
public interface ExchangeConnection extends GradientExchange, AutoCloseable {
    /** Leaves the group and releases the engine's resources. Idempotent; never throws a checked exception. */
    @Override
    void close();
}
