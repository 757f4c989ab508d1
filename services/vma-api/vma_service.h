// The gRPC face of vma-api: migratekit.vma.v1.VmaService.
#ifndef MIGRATEKIT_SERVICES_VMA_API_VMA_SERVICE_H_
#define MIGRATEKIT_SERVICES_VMA_API_VMA_SERVICE_H_

#include "proto/vma/v1/vma.grpc.pb.h"

namespace migratekit::vma {

// TODO: replication jobs are not built yet; every call answers
// UNIMPLEMENTED and the service's health stays NOT_SERVING.
class VmaServiceImpl final : public v1::VmaService::Service {
 public:
  grpc::Status StartReplication(grpc::ServerContext* context,
                                const v1::StartReplicationRequest* request,
                                v1::Job* response) override;
  grpc::Status GetJob(grpc::ServerContext* context,
                      const v1::GetJobRequest* request,
                      v1::Job* response) override;
  grpc::Status ListJobs(grpc::ServerContext* context,
                        const v1::ListJobsRequest* request,
                        v1::ListJobsResponse* response) override;
  grpc::Status WatchJob(grpc::ServerContext* context,
                        const v1::WatchJobRequest* request,
                        grpc::ServerWriter<v1::Job>* writer) override;
  grpc::Status CancelJob(grpc::ServerContext* context,
                         const v1::CancelJobRequest* request,
                         v1::Job* response) override;
};

}  // namespace migratekit::vma

#endif  // MIGRATEKIT_SERVICES_VMA_API_VMA_SERVICE_H_
