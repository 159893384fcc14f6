// Internal to registry/: protobuf conversions of the mesh records
// (command_connect.cpp), used by command.cpp.
#pragma once

#include "registry/connect.hpp"
#include "registry/model.hpp"
#include "registry/registry.pb.h"

namespace cairn::registry {

void toPb(const ServiceProxy& s, pb::ServiceProxyRec* p);
ServiceProxy fromPb(const pb::ServiceProxyRec& p);
void toPb(const CaState& s, pb::CaStateRec* p);
CaState fromPb(const pb::CaStateRec& p);
void toPb(const Intention& i, pb::IntentionRec* p);
Intention fromPb(const pb::IntentionRec& p);

}  // namespace cairn::registry
