"""The run log, vgtui's file format: codec, writer, reader, following and tail reads.

Torch-free: the dashboard's process reads logs."""
