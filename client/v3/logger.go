package clientv3

import (
	"log"
	"os"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zapgrpc"
	"google.golang.org/grpc/grpclog"
)

// With ETCD_CLIENT_DEBUG set, gRPC's own logging goes to a client-style
// logger at ClientLogLevel, as with the official client. Unset, gRPC's
// logger is left alone: it is the program's.
func init() {
	if os.Getenv("ETCD_CLIENT_DEBUG") == "" {
		return
	}
	lg, err := defaultLogger(ClientLogLevel())
	if err != nil {
		panic(err)
	}
	grpclog.SetLoggerV2(zapgrpc.NewLogger(lg.Named("etcd-client")))
}

// ClientLogLevel returns the log level the ETCD_CLIENT_DEBUG environment
// variable selects: info when it is unset or "true", the level it names
// when it is a zap level name ("debug", "warn", ...), and info, after a
// note on the standard logger, for any other value.
func ClientLogLevel() zapcore.Level {
	v := os.Getenv("ETCD_CLIENT_DEBUG")
	if v == "" || v == "true" {
		return zapcore.InfoLevel
	}
	var l zapcore.Level
	if err := l.Set(v); err != nil {
		log.Print("Invalid value for environment variable 'ETCD_CLIENT_DEBUG'. Using default level: 'info'")
		return zapcore.InfoLevel
	}
	return l
}

// SetLogger sets the gRPC library's logger.
//
// Deprecated: use grpclog.SetLoggerV2.
func SetLogger(l grpclog.LoggerV2) { grpclog.SetLoggerV2(l) }

// newLogger returns the logger cfg asks for: cfg.Logger, else one built
// from cfg.LogConfig, else the default JSON logger to stderr at
// ClientLogLevel, named "etcd-client".
func newLogger(cfg *Config) (*zap.Logger, error) {
	if cfg.Logger != nil {
		return cfg.Logger, nil
	}
	if cfg.LogConfig != nil {
		return cfg.LogConfig.Build()
	}
	lg, err := defaultLogger(ClientLogLevel())
	if err != nil {
		return nil, err
	}
	return lg.Named("etcd-client"), nil
}

// defaultLogger builds the logger etcd's programs log with: JSON to
// stderr, microsecond timestamps, sampled past 100 a second of one
// message, so that the client's lines read like the server's.
func defaultLogger(level zapcore.Level) (*zap.Logger, error) {
	return zap.Config{
		Level:    zap.NewAtomicLevelAt(level),
		Sampling: &zap.SamplingConfig{Initial: 100, Thereafter: 100},
		Encoding: "json",
		EncoderConfig: zapcore.EncoderConfig{
			TimeKey:       "ts",
			LevelKey:      "level",
			NameKey:       "logger",
			CallerKey:     "caller",
			MessageKey:    "msg",
			StacktraceKey: "stacktrace",
			LineEnding:    zapcore.DefaultLineEnding,
			EncodeLevel:   zapcore.LowercaseLevelEncoder,
			EncodeTime: func(t time.Time, enc zapcore.PrimitiveArrayEncoder) {
				enc.AppendString(t.Format("2006-01-02T15:04:05.000000Z0700"))
			},
			EncodeDuration: zapcore.StringDurationEncoder,
			EncodeCaller:   zapcore.ShortCallerEncoder,
		},
		OutputPaths:      []string{"stderr"},
		ErrorOutputPaths: []string{"stderr"},
	}.Build()
}
