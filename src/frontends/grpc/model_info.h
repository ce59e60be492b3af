// The non-inference RPCs as plain functions from a request to a response:
// model metadata and readiness, Triton's ModelConfig, RepositoryIndex and
// ModelStatistics. They read the repository and the statistics only.
//
// Thread-safety: every function may be called from any thread (the
// repository and the registry are thread-safe).
#pragma once

#include "core/model_repository.h"
#include "core/statistics.h"
#include "core/status.h"
#include "grpc_service.pb.h"

namespace infergate::grpc_frontend {

// The version of `name` that `version` ("" = newest READY) selects.
// NOT_FOUND for unknown models or versions, UNAVAILABLE when not READY.
core::StatusOr<std::shared_ptr<const core::ModelVersion>> FindVersion(
    const core::ModelRepository& repository, const std::string& name, const std::string& version);

core::StatusOr<inference::ModelMetadataResponse> ModelMetadata(
    const core::ModelRepository& repository, const inference::ModelMetadataRequest& request);

// True when the version is READY; NOT_FOUND for a model the repository does
// not know, false for a known model that is not READY.
core::StatusOr<bool> ModelReady(const core::ModelRepository& repository,
                                const inference::ModelReadyRequest& request);

// The effective config (config.yaml completed from the model file) in
// Triton's ModelConfig message.
core::StatusOr<inference::ModelConfigResponse> ModelConfig(const core::ModelRepository& repository,
                                                           const inference::ModelConfigRequest& request);

// One entry per model version (one per model without versions), with its
// state and the reason it is not READY; `ready` keeps only READY ones.
inference::RepositoryIndexResponse RepositoryIndex(const core::ModelRepository& repository,
                                                   const inference::RepositoryIndexRequest& request);

// Cumulative counts and durations per READY model version, rendered from
// `statistics` snapshots (the figures HTTP stats and /metrics report).
// `name` empty: every model; `version` empty: every READY version of the
// model. NOT_FOUND / UNAVAILABLE for a named model or version that is
// unknown / not READY; UNIMPLEMENTED when `statistics` is null.
core::StatusOr<inference::ModelStatisticsResponse> ModelStatistics(
    const core::ModelRepository& repository, const core::StatisticsSource* statistics,
    const inference::ModelStatisticsRequest& request);

}  // namespace infergate::grpc_frontend
