/**
 * What every trainer integration of gradclip shares: {@link dev.gradclip.integration.ClipStep}, what to do with
 * one step's gradients, and {@link dev.gradclip.integration.ParameterGradients}, the gradients it gets (views
 * of the trainer's memory with their parameter names). The integrations (gradclip-djl for DJL, gradclip-torch
 * for the JavaCPP PyTorch presets) find a model's gradients, check that they can be written in place, and call
 * a {@code ClipStep} between the backward pass and the optimizer step.
 */
package dev.gradclip.integration;
