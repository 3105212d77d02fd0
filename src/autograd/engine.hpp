// A small reverse-mode autograd engine on 2-D xtensor arrays.
//
// A Var is a handle to a Node of the computation graph. Every op (ops.hpp)
// computes its value eagerly and, when gradients are being recorded, stores
// its parents and a backward function that turns the gradient of its output
// into gradients of its parents (vector-Jacobian products). backward() and
// grad() walk the graph in reverse topological order.
//
//   Var<double> x(Mat<double>{{1, 2}}, /*requires_grad=*/true);
//   Var<double> y = sum(square(x));
//   backward(y);                  // x.grad() == {{2, 4}}
//
// Only what is needed is computed: a parent's gradient is formed only when a
// leaf we differentiate with respect to lies behind it. grad(out, {x})
// therefore skips every weight-gradient product of a network whose input we
// differentiate (the lean adjoint's vector-Jacobian product).
// Design: docs/design.md#autograd
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "core/tensor.hpp"

namespace am::ag {

template <class T>
struct Node {
    Mat<T> value;
    Mat<T> grad;  // d(output)/d(value); empty until a backward pass reaches this node
    std::vector<std::shared_ptr<Node>> parents;
    // Reads this->grad and accumulates into the parents that are `wanted`.
    std::function<void(Node&)> backward;
    bool requires_grad = false;  // a differentiable leaf, or an op with such a parent
    bool wanted = false;         // set during a pass: a chosen leaf lies behind this node
    const char* op = "leaf";
};

template <class T>
class Var {
public:
    Var() = default;
    explicit Var(Mat<T> value, bool requires_grad = false) : node(std::make_shared<Node<T>>()) {
        node->value = std::move(value);
        node->requires_grad = requires_grad;
    }
    explicit Var(std::shared_ptr<Node<T>> n) : node(std::move(n)) {}

    const Mat<T>& value() const { return node->value; }
    Mat<T>& value() { return node->value; }  // for optimisers, which update leaves in place
    const Mat<T>& grad() const { return node->grad; }
    Mat<T>& grad() { return node->grad; }
    bool has_grad() const { return node->grad.size() != 0; }
    void zero_grad() { node->grad = Mat<T>(); }
    bool requires_grad() const { return node->requires_grad; }
    Index rows() const { return am::rows(node->value); }
    Index cols() const { return am::cols(node->value); }
    // The scalar value of a (1, 1) Var.
    T item() const;

    std::shared_ptr<Node<T>> node;
};

// ---- recording mode ---------------------------------------------------------

// True unless a NoGrad guard is alive on this thread.
bool grad_enabled();

// While alive, ops record no graph (sampling, evaluation).
class NoGrad {
public:
    NoGrad();
    ~NoGrad();
    NoGrad(const NoGrad&) = delete;
    NoGrad& operator=(const NoGrad&) = delete;

private:
    bool previous_;
};

// ---- backward passes --------------------------------------------------------

// Gradients of out with respect to every leaf that requires them, accumulated
// into those leaves' grad() (as an optimiser expects). seed = d(loss)/d(out),
// ones when null (out is then normally a (1, 1) loss).
template <class T>
void backward(const Var<T>& out, const Mat<T>* seed = nullptr);

// Gradients of out with respect to the chosen nodes only (leaves, or
// intermediate results such as the states of a sampler), returned in the
// order given; no other gradient is formed and no leaf's grad() changes.
template <class T>
std::vector<Mat<T>> grad(const Var<T>& out, const std::vector<Var<T>>& wrt,
                         const Mat<T>* seed = nullptr);

// Vector-Jacobian product of f at x: returns cot^T (df/dx), shape of x.
// If f_out is given, f(x) is stored there too.
template <class T>
Mat<T> vjp(const std::function<Var<T>(const Var<T>&)>& f, const Mat<T>& x, const Mat<T>& cot,
           Mat<T>* f_out = nullptr);

// ---- helpers for writing ops (ops.cpp) ---------------------------------------

// The result of an op: records parents and backward only when recording is on
// and some parent requires gradients.
template <class T>
Var<T> make_op(Mat<T> value, std::vector<Var<T>> parents, const char* name,
               std::function<void(Node<T>&)> backward);

// Adds g into p.grad; moves it in when p has no gradient yet.
template <class T>
void accumulate(Node<T>& p, Mat<T>&& g);

// Makes p.grad (of p.value's shape) ready for a kernel that writes
// grad = beta * grad + (new term), as BLAS gemm does. Returns beta: 0 when
// the buffer was just allocated (its contents are then undefined and must be
// overwritten), 1 when it already holds a gradient to add to.
template <class T>
T grad_target(Node<T>& p);

}  // namespace am::ag
