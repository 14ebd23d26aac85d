// All trainable parameters of an agent live in one flat float buffer, with a gradient buffer of the
// same layout. Modules own named tensors (views into the buffer). One buffer makes the optimizer,
// global-norm clipping, checkpoints and the browser's gradient histograms single loops over memory.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace pl {

using MatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;  // column-major
using VectorXf = Eigen::Matrix<float, Eigen::Dynamic, 1>;
using MatMap = Eigen::Map<MatrixXf, Eigen::Aligned16>;

struct TensorInfo {
  std::string name;
  int rows = 0, cols = 0;
  int offset = 0;  // into the flat buffers
  int size() const { return rows * cols; }
};

class Parameters {
 public:
  // Declares a tensor; returns its index. All declarations come before finalize().
  int declare(const std::string& name, int rows, int cols) {
    if (finalized_) throw std::logic_error("Parameters::declare after finalize");
    TensorInfo t;
    t.name = name;
    t.rows = rows;
    t.cols = cols;
    // Offsets rounded up to 4 floats keep every tensor 16-byte aligned for Eigen's SIMD maps.
    t.offset = (total_ + 3) / 4 * 4;
    total_ = t.offset + t.size();
    tensors_.push_back(t);
    return static_cast<int>(tensors_.size()) - 1;
  }
  void finalize() {
    values_ = VectorXf::Zero(total_);
    grads_ = VectorXf::Zero(total_);
    finalized_ = true;
  }

  MatMap value(int i) { return MatMap(values_.data() + tensors_[i].offset, tensors_[i].rows, tensors_[i].cols); }
  MatMap grad(int i) { return MatMap(grads_.data() + tensors_[i].offset, tensors_[i].rows, tensors_[i].cols); }
  Eigen::Map<const MatrixXf, Eigen::Aligned16> value(int i) const {
    return Eigen::Map<const MatrixXf, Eigen::Aligned16>(values_.data() + tensors_[i].offset, tensors_[i].rows,
                                                        tensors_[i].cols);
  }

  VectorXf& values() { return values_; }
  const VectorXf& values() const { return values_; }
  VectorXf& grads() { return grads_; }
  const VectorXf& grads() const { return grads_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  int count() const { return static_cast<int>(tensors_.size()); }
  int total_size() const { return total_; }

  void zero_grad() { grads_.setZero(); }

  // L2 norm of one tensor's gradient.
  float grad_norm(int i) const {
    const TensorInfo& t = tensors_[i];
    return grads_.segment(t.offset, t.size()).norm();
  }

 private:
  std::vector<TensorInfo> tensors_;
  VectorXf values_, grads_;
  int total_ = 0;
  bool finalized_ = false;
};

}  // namespace pl
