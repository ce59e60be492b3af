#!/usr/bin/python3
"""Makes the models the scheduler benchmarks run, into a model repository.

    /usr/bin/python3 bench/models/make_bench_models.py OUT_DIR

writes OUT_DIR/<name>/1/model.onnx for:
  mlp_heavy     FP32 [batch, 512] -> [batch, 16]: 512 -> 2048 -> 2048 -> 16 with
                ReLU, about 5.2 M parameters (21 MB), where batching pays
                because every run streams all the weights through the cache;
  mobilenet_v2  FP32 [batch, 3, 224, 224] -> [batch, 1000]: torchvision's
                MobileNetV2 with random weights (timing only), the CNN class
                IoT cameras run.
The files are large and random, so they are generated, not committed. Needs
Debian's python3-torch and python3-torchvision (bench/run installs them).
"""
import os
import sys

import torch
import torchvision


def export(model, example, out_dir, name, input_name, output_name):
    path = os.path.join(out_dir, name, "1", "model.onnx")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    model.eval()
    with torch.no_grad():
        torch.onnx.export(
            model, example, path, opset_version=17,
            input_names=[input_name], output_names=[output_name],
            dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}})
    print(path)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(
        torch.nn.Linear(512, 2048), torch.nn.ReLU(),
        torch.nn.Linear(2048, 2048), torch.nn.ReLU(),
        torch.nn.Linear(2048, 16))
    export(mlp, torch.randn(1, 512), out_dir, "mlp_heavy", "features", "scores")
    cnn = torchvision.models.mobilenet_v2(weights=None)
    export(cnn, torch.randn(1, 3, 224, 224), out_dir, "mobilenet_v2", "image", "logits")


if __name__ == "__main__":
    main()
