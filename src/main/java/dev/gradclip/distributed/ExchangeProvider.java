package dev.gradclip.distributed;

import java.net.URI;
import java.time.Duration;

/**
 * A service that joins ranks in separate processes into a group and returns this process's endpoint of
 * it: the hook through which an optional adapter module (PyTorch c10d in {@code distributed/c10d}) offers
 * its {@link GradientExchange} to code that must not depend on it, such as the command line's
 * {@code gradclip clip --rank R --world-size W --rendezvous tcp://HOST:PORT}. Implementations are found
 * with {@link java.util.ServiceLoader} (a {@code META-INF/services/dev.gradclip.distributed.ExchangeProvider}
 * entry, or {@code provides} in a module); the core ships none, so it opens no socket of its own.
 */
public interface ExchangeProvider {
    /** {@return a short name of the engine, for messages and reports (e.g. {@code "c10d"})} */
    String name();

    /**
     * Joins the group of {@code worldSize} ranks that meet at {@code rendezvous}, as rank {@code rank};
     * blocks until every rank has joined or {@code timeout} has passed. The returned connection's
     * {@link GradientExchange#allGather} fails with {@link ExchangeException} when a peer does not arrive
     * within {@code timeout}.
     *
     * @param rank this process's rank, in {@code [0, worldSize)}
     * @param worldSize the number of ranks, at least 1
     * @param rendezvous where the ranks meet, {@code tcp://HOST:PORT} (rank 0 listens on PORT)
     * @param timeout how long to wait for the other ranks, at the rendezvous and at every all-gather (positive)
     * @return this rank's endpoint; the caller closes it
     * @throws IllegalArgumentException for a rank outside {@code [0, worldSize)}, a world size below 1, a
     *     rendezvous this engine cannot use, or a timeout that is not positive
     * @throws ExchangeException if the group is not complete within {@code timeout}
     */
    ExchangeConnection open(int rank, int worldSize, URI rendezvous, Duration timeout);
}
