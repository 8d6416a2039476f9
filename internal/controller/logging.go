package controller

import (
	"fmt"
	"io"

	"github.com/go-logr/logr"
	"go.uber.org/zap/zapcore"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// parseLogLevel maps --loglevel to a zap level. logr's V(1) is zap's debug level.
func parseLogLevel(level string) (zapcore.Level, error) {
	switch level {
	case "debug":
		return zapcore.DebugLevel, nil
	case "info":
		return zapcore.InfoLevel, nil
	case "warn":
		return zapcore.WarnLevel, nil
	case "error":
		return zapcore.ErrorLevel, nil
	}
	return 0, fmt.Errorf("--loglevel=%q: want debug, info, warn or error", level)
}

// NewLogger builds the structured logger selected by --loglevel and --logformat, writing to w.
// Call Validate first; an invalid level falls back to info.
func NewLogger(o *Options, w io.Writer) logr.Logger {
	level, err := parseLogLevel(o.LogLevel)
	if err != nil {
		level = zapcore.InfoLevel
	}
	encoder := zap.ConsoleEncoder(withISOTime)
	if o.LogFormat == "json" {
		encoder = zap.JSONEncoder(withISOTime)
	}
	return zap.New(zap.WriteTo(w), zap.Level(level), encoder, zap.StacktraceLevel(zapcore.PanicLevel))
}

func withISOTime(c *zapcore.EncoderConfig) {
	c.EncodeTime = zapcore.ISO8601TimeEncoder
}
