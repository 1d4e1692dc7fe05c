"""Generated protobuf and gRPC modules for the skiff.v1 API (scripts/gen-proto). Do not edit."""
