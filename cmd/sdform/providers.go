package main

import (
	"github.com/sdform/sdform/providers"
	"github.com/sdform/sdform/providers/comfyui"
	"github.com/sdform/sdform/providers/docker"
	"github.com/sdform/sdform/providers/gpu"
)

// extraFactories are added to the built-in providers: tests and the
// sdform_testprovider build tag register the engine's test provider here.
var extraFactories = map[string]providers.Factory{}

// factories is every provider this binary knows, by name (the type
// prefix: "docker" for docker_image).
func factories() map[string]providers.Factory {
	m := map[string]providers.Factory{
		"comfyui": comfyui.New,
		"docker":  docker.New,
		"gpu":     gpu.New,
	}
	for name, f := range extraFactories {
		m[name] = f
	}
	return m
}

func registry() *providers.Registry { return providers.NewRegistry(factories()) }
