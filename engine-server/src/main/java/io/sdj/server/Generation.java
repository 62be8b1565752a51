package io.sdj.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.models.pipeline.Txt2Img;

import java.util.List;
import java.util.function.Function;

/**
 * A generation request as an API understood it: the engine runs (one image each) and how to turn the outcome into
 * that API's answer.
 */
record Generation(String kind, List<Txt2Img.Request> runs, Function<Job.Outcome, ObjectNode> answer) {
}
