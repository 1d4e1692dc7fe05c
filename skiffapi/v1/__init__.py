"""Generated from proto/skiffapi/v1 by scripts/gen-proto. Do not edit."""
