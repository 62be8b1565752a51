/**
 * Downloads from the Hugging Face hub into the cache the Python {@code huggingface_hub} client uses, so a model fetched
 * by either is found by the other: {@link HubEnvironment} (endpoint, token, cache folder, offline switch from the same
 * environment variables), {@link HubCache} (the {@code models--org--name/blobs|snapshots|refs} layout),
 * {@link HubClient} (the HTTP protocol: HEAD/GET on {@code /resolve/}, the revision listing, resumable downloads with
 * sha256 checked while streaming), {@link PipelineFiles} (which files of a diffusers repository sdj needs) and
 * {@link HubModels} (a model path or hub id → a local path, pulling on first use).
 */
package io.sdj.weights.hub;
