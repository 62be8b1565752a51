package io.sdj.models.pipeline;

/** A LoRA merged into a loaded pipeline: the name prompts use, its multiplier and A1111's short hash (12 hex digits). */
public record AppliedLora(String name, float multiplier, String shortHash) {}
