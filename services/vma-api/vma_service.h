// The gRPC face of vma-api: migratekit.vma.v1.VmaService over a
// JobManager. Handlers only translate; every rule lives in the jobs.
#ifndef MIGRATEKIT_SERVICES_VMA_API_VMA_SERVICE_H_
#define MIGRATEKIT_SERVICES_VMA_API_VMA_SERVICE_H_

#include <atomic>

#include "proto/vma/v1/vma.grpc.pb.h"
#include "services/vma-api/job_manager.h"

namespace migratekit::vma {

class VmaServiceImpl final : public v1::VmaService::Service {
 public:
  explicit VmaServiceImpl(JobManager* jobs) : jobs_(jobs) {}

  // Ends every WatchJob stream; called when shutdown begins.
  void Shutdown() { shutting_down_.store(true); }

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

 private:
  JobManager* const jobs_;
  std::atomic<bool> shutting_down_{false};
};

}  // namespace migratekit::vma

#endif  // MIGRATEKIT_SERVICES_VMA_API_VMA_SERVICE_H_
