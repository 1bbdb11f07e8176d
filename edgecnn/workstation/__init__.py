"""The workstation side: everything that imports TensorFlow or Keras (training, quantization,
parity, reports, face training / evaluation). The device side never imports this package."""
