package dev.gradclip;

/**
 * Whether a backend can run here, and why not when it cannot.
 *
 * @param backend the backend
 * @param available whether it can be selected
 * @param detail what it runs on when available (for example the device name), or why it is not
 */
public record BackendStatus(Backend backend, boolean available, String detail) {
}
