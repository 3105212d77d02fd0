// The backward pass: topological order, who needs a gradient, and the walk.
// Design: docs/design.md#autograd
#include "autograd/engine.hpp"

#include <unordered_set>

namespace am::ag {

namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() { return g_grad_enabled; }
NoGrad::NoGrad() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGrad::~NoGrad() { g_grad_enabled = previous_; }

template <class T>
T Var<T>::item() const {
    AM_CHECK(node && node->value.size() == 1,
             "item(): expected a (1, 1) value, got " + shape_str(node->value));
    return node->value(0, 0);
}

template <class T>
Var<T> make_op(Mat<T> value, std::vector<Var<T>> parents, const char* name,
               std::function<void(Node<T>&)> backward) {
    Var<T> out(std::move(value));
    out.node->op = name;
    if (!g_grad_enabled) return out;
    bool any = false;
    for (const auto& p : parents) any = any || p.node->requires_grad;
    if (!any) return out;
    out.node->requires_grad = true;
    out.node->parents.reserve(parents.size());
    for (auto& p : parents) out.node->parents.push_back(p.node);
    out.node->backward = std::move(backward);
    return out;
}

template <class T>
void accumulate(Node<T>& p, Mat<T>&& g) {
    AM_CHECK(g.shape() == p.value.shape(), std::string("autograd: gradient of shape ") +
                                               shape_str(g) + " for a value of shape " +
                                               shape_str(p.value) + " (op " + p.op + ")");
    if (p.grad.size() == 0) {
        p.grad = std::move(g);
        return;
    }
    T* dst = p.grad.data();
    const T* src = g.data();
    const Index n = Index(g.size());
#pragma omp parallel for simd if (n > (1 << 16))
    for (Index i = 0; i < n; ++i) dst[i] += src[i];
}

template <class T>
T grad_target(Node<T>& p) {
    if (p.grad.size() != 0) return T(1);
    p.grad = Mat<T>::from_shape(p.value.shape());
    return T(0);
}

namespace {

// Nodes that require gradients, parents before children (iterative DFS, so
// a long chain such as BPTT over many steps cannot overflow the stack).
template <class T>
std::vector<Node<T>*> topological_order(Node<T>* root) {
    std::vector<Node<T>*> order;
    std::unordered_set<Node<T>*> seen;
    std::vector<std::pair<Node<T>*, std::size_t>> stack;  // (node, next parent to visit)
    if (!root->requires_grad) return order;
    stack.push_back({root, 0});
    seen.insert(root);
    while (!stack.empty()) {
        auto& [node, next] = stack.back();
        if (next < node->parents.size()) {
            Node<T>* p = node->parents[next++].get();
            if (p->requires_grad && seen.insert(p).second) stack.push_back({p, 0});
        } else {
            order.push_back(node);
            stack.pop_back();
        }
    }
    return order;
}

// Seeds root->grad and runs the backward functions of wanted nodes, children
// before parents. Gradients of intermediate nodes are freed once used.
template <class T>
void run_backward(Node<T>* root, const std::vector<Node<T>*>& order, const Mat<T>* seed,
                  const std::unordered_set<Node<T>*>* keep = nullptr) {
    if (seed) {
        AM_CHECK(seed->shape() == root->value.shape(),
                 "backward: seed of shape " + shape_str(*seed) + " for an output of shape " +
                     shape_str(root->value));
        accumulate(*root, Mat<T>(*seed));
    } else {
        accumulate(*root, Mat<T>(xt::ones_like(root->value)));
    }
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        Node<T>* n = *it;
        if (!n->wanted || !n->backward || n->grad.size() == 0) continue;
        n->backward(*n);
        // an op's gradient is not kept (leaves have no backward), unless asked for
        if (!keep || !keep->count(n)) n->grad = Mat<T>();
    }
}

}  // namespace

template <class T>
void backward(const Var<T>& out, const Mat<T>* seed) {
    Node<T>* root = out.node.get();
    AM_CHECK(root->requires_grad,
             "backward: the output does not depend on any leaf that requires gradients");
    const auto order = topological_order(root);
    for (Node<T>* n : order) n->wanted = true;
    run_backward(root, order, seed);
    for (Node<T>* n : order) n->wanted = false;
}

template <class T>
std::vector<Mat<T>> grad(const Var<T>& out, const std::vector<Var<T>>& wrt, const Mat<T>* seed) {
    Node<T>* root = out.node.get();
    std::vector<Mat<T>> result(wrt.size());
    const auto order = topological_order(root);
    std::unordered_set<Node<T>*> chosen;
    for (const auto& w : wrt) {
        AM_CHECK(w.node->requires_grad,
                 "grad: a chosen node does not require gradients (a leaf made without requires_grad, "
                 "or a result computed from such leaves only)");
        chosen.insert(w.node.get());
    }
    // wanted(n) = n is chosen, or a parent of n is wanted (parents come first in order).
    bool reached = false;
    for (Node<T>* n : order) {
        n->wanted = chosen.count(n) > 0;
        for (const auto& p : n->parents) n->wanted = n->wanted || p->wanted;
        reached = reached || chosen.count(n) > 0;
    }
    // Leaves keep their accumulated gradients (an optimiser's): set them aside.
    std::vector<Mat<T>> kept(wrt.size());
    for (std::size_t i = 0; i < wrt.size(); ++i) kept[i] = std::move(wrt[i].node->grad), wrt[i].node->grad = Mat<T>();
    if (reached) run_backward(root, order, seed, &chosen);
    for (std::size_t i = 0; i < wrt.size(); ++i) {
        Node<T>* w = wrt[i].node.get();
        result[i] = w->grad.size() ? std::move(w->grad) : Mat<T>(xt::zeros_like(w->value));
        w->grad = std::move(kept[i]);
    }
    if (!chosen.count(root)) root->grad = Mat<T>();
    for (Node<T>* n : order) n->wanted = false;
    return result;
}

template <class T>
Mat<T> vjp(const std::function<Var<T>(const Var<T>&)>& f, const Mat<T>& x, const Mat<T>& cot,
           Mat<T>* f_out) {
    Var<T> xv(x, /*requires_grad=*/true);
    Var<T> y = f(xv);
    if (f_out) *f_out = y.value();
    AM_CHECK(cot.shape() == y.value().shape(),
             "vjp: cotangent of shape " + shape_str(cot) + " for f(x) of shape " + shape_str(y.value()));
    if (!y.requires_grad()) return xt::zeros_like(x);  // f does not depend on x
    return std::move(grad(y, {xv}, &cot)[0]);
}

#define AM_INSTANTIATE_ENGINE(T)                                                              \
    template class Var<T>;                                                                    \
    template Var<T> make_op(Mat<T>, std::vector<Var<T>>, const char*,                         \
                            std::function<void(Node<T>&)>);                                   \
    template void accumulate(Node<T>&, Mat<T>&&);                                             \
    template T grad_target(Node<T>&);                                                         \
    template void backward(const Var<T>&, const Mat<T>*);                                     \
    template std::vector<Mat<T>> grad(const Var<T>&, const std::vector<Var<T>>&, const Mat<T>*); \
    template Mat<T> vjp(const std::function<Var<T>(const Var<T>&)>&, const Mat<T>&, const Mat<T>&, \
                        Mat<T>*);

AM_INSTANTIATE_ENGINE(float)
AM_INSTANTIATE_ENGINE(double)

}  // namespace am::ag
