#pragma once
// Private: the factory of each probe kind, one file each, listed in registry.cpp.

#include <memory>

#include "hftguard/probes/probe.hpp"

namespace hftguard::probes::kinds {

using config::CheckConfig;

std::unique_ptr<Probe> makeProcess(const CheckConfig& c, ProbeEnv& env);
std::unique_ptr<Probe> makeTcp(const CheckConfig& c, ProbeEnv& env);
std::unique_ptr<Probe> makeHttp(const CheckConfig& c, ProbeEnv& env);
std::unique_ptr<Probe> makeE2eOrder(const CheckConfig& c, ProbeEnv& env);
std::unique_ptr<Probe> makeHost(const CheckConfig& c, ProbeEnv& env);
std::unique_ptr<Probe> makePostgres(const CheckConfig& c, ProbeEnv& env);
std::unique_ptr<Probe> makeRedis(const CheckConfig& c, ProbeEnv& env);
std::unique_ptr<Probe> makeRedisKey(const CheckConfig& c, ProbeEnv& env);

}  // namespace hftguard::probes::kinds
