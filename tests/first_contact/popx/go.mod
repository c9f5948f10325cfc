module github.com/example/kratos-like

go 1.22

require github.com/ory/x v0.0.600
