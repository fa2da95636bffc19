package clientv3

import (
	"os"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc/grpclog"
)

// ClientLogLevel returns the log level the ETCD_CLIENT_DEBUG environment
// variable selects: info when it is unset, "0" or "false"; the level it
// names when it is a zap level name ("debug", "warn", ...); debug for any
// other value (such as "1" or "true").
func ClientLogLevel() zapcore.Level {
	v := strings.TrimSpace(os.Getenv("ETCD_CLIENT_DEBUG"))
	switch strings.ToLower(v) {
	case "", "0", "false":
		return zapcore.InfoLevel
	}
	var l zapcore.Level
	if err := l.Set(v); err == nil {
		return l
	}
	return zapcore.DebugLevel
}

// SetLogger sets the gRPC library's logger.
//
// Deprecated: use grpclog.SetLoggerV2.
func SetLogger(l grpclog.LoggerV2) { grpclog.SetLoggerV2(l) }

// newLogger returns the logger cfg asks for: cfg.Logger, else one built
// from cfg.LogConfig, else a JSON logger to stderr at ClientLogLevel.
func newLogger(cfg *Config) (*zap.Logger, error) {
	if cfg.Logger != nil {
		return cfg.Logger, nil
	}
	var zc zap.Config
	if cfg.LogConfig != nil {
		zc = *cfg.LogConfig
	} else {
		zc = zap.NewProductionConfig()
		zc.Level = zap.NewAtomicLevelAt(ClientLogLevel())
		zc.Sampling = nil
		zc.OutputPaths = []string{"stderr"}
		zc.ErrorOutputPaths = []string{"stderr"}
	}
	lg, err := zc.Build()
	if err != nil {
		return nil, err
	}
	return lg.Named("etcd-client"), nil
}
