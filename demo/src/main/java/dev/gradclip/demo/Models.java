package dev.gradclip.demo;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.distribution.UniformDistribution;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** The seed's models, in DL4J. No DL4J GradientNormalization anywhere: gradclip does the clipping. */
public final class Models {
    private Models() { }

    /** Dense(hidden, relu, He uniform) → Dense(1, linear), MSE. */
    public static MultiLayerNetwork regressionMlp(int features, int hidden, IUpdater updater, long seed) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(seed).dataType(DataType.FLOAT).updater(updater)
                .list()
                .layer(new DenseLayer.Builder().nIn(features).nOut(hidden).activation(Activation.RELU)
                        .weightInit(WeightInit.RELU_UNIFORM).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(hidden).nOut(1)
                        .activation(Activation.IDENTITY).weightInit(WeightInit.XAVIER_UNIFORM).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /**
     * The seed's Keras model: Embedding(vocab, 32) → LSTM(32) (last output) → Dense(1, sigmoid), binary
     * cross-entropy. Keras defaults where DL4J's differ: Glorot uniform input weights, forget-gate bias 1,
     * sigmoid gates, tanh cell, embeddings U(-0.05, 0.05).
     */
    public static MultiLayerNetwork sentimentLstm(int vocab, int embed, int units, IUpdater updater, long seed) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(seed).dataType(DataType.FLOAT).updater(updater).weightInit(WeightInit.XAVIER_UNIFORM)
                .list()
                .layer(new EmbeddingSequenceLayer.Builder().nIn(vocab).nOut(embed)
                        .weightInit(new UniformDistribution(-0.05, 0.05)).build())
                .layer(new LastTimeStep(new LSTM.Builder().nIn(embed).nOut(units).activation(Activation.TANH)
                        .gateActivationFunction(Activation.SIGMOID).forgetGateBiasInit(1.0).build()))
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.XENT).nIn(units).nOut(1)
                        .activation(Activation.SIGMOID).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }
}
