// Topic filters with named captures and reply-topic templates
// (frontends/mqtt/topic_pattern.h), as the MQTT frontend parses them from
// the config and matches incoming topics against them.
//
// Input: "<filter>\n<topic>\n<template>\n<topic>...": the filter is parsed,
// the template parsed with the filter's capture names and {model}, and
// every topic matched and, when it matches, the template expanded.
#include <string>

#include "frontends/mqtt/topic_pattern.h"
#include "fuzz/fuzz_input.h"

namespace infergate::fuzz {
namespace {

void Run(std::string_view in) {
  const auto parts = Split(in, '\n', 8);
  auto pattern = mqtt::TopicPattern::Parse(parts[0]);
  std::vector<std::string> known = {"model"};
  if (pattern.ok()) {
    for (auto& name : pattern->capture_names()) known.push_back(std::move(name));
  }
  std::optional<mqtt::TopicTemplate> reply;
  if (parts.size() > 2) {
    auto t = mqtt::TopicTemplate::Parse(parts[2], known);
    if (t.ok()) reply = std::move(*t);
  }
  if (!pattern.ok()) return;
  for (size_t i = 1; i < parts.size(); ++i) {
    if (i == 2) continue;
    auto captures = pattern->Match(parts[i]);
    if (!captures) continue;
    for (const auto& name : known) (void)mqtt::FindCapture(*captures, name);
    captures->emplace_back("model", "m");
    if (reply) (void)reply->Expand(*captures);
  }
}

}  // namespace
}  // namespace infergate::fuzz

INFERGATE_FUZZ_TARGET(infergate::fuzz::Run)
