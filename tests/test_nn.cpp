// nn: a whole MLP against finite differences, Adam against hand-computed
// steps, checkpoints (round trip and every way a file can be bad).
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "autograd/gradcheck.hpp"
#include "nn/checkpoint.hpp"
#include "nn/optim.hpp"

using namespace am;
using namespace am::ag;
using namespace am::nn;

namespace {
std::string temp_path(const std::string& name) {
    return "/tmp/amflow_test_" + std::to_string(::getpid()) + "_" + name;
}
std::string read_bytes(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}
void write_bytes(const std::string& p, const std::string& b) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(b.data(), std::streamsize(b.size()));
}
}  // namespace

TEST_CASE("nn: the velocity MLP has the parameter counts of WORKLOADS.md") {
    Rng rng(0);
    CHECK(VelocityMLP<float>(2, 256, 3, rng).num_parameters() == 133122);
    CHECK(VelocityMLP<float>(784, 1024, 3, rng).num_parameters() == 3707664);
}

TEST_CASE("nn: whole MLP gradients (inputs and every parameter) match finite differences") {
    for (auto act : {Activation::SiLU, Activation::Tanh}) {
        Rng rng(1);
        MLP<double> net({3, 5, 4, 2}, act, rng);
        const auto params = net.parameters();
        std::vector<Mat<double>> in{Rng(2).normal<double>(4, 3)};
        for (const auto& p : params) in.push_back(p.value());
        // f(x, W0, b0, ...) = net(x) with the given parameter values
        auto f = [&](const std::vector<Var<double>>& v) {
            Var<double> h = v[0];
            for (std::size_t l = 0; l < params.size() / 2; ++l) {
                h = linear(h, v[1 + 2 * l], v[2 + 2 * l]);
                if (l + 1 < params.size() / 2) h = act == Activation::SiLU ? silu(h) : tanh(h);
            }
            return h;
        };
        // f is the network's own forward pass: check they agree, then check f.
        std::vector<Var<double>> vs;
        for (auto& m : in) vs.emplace_back(m);
        CHECK(xt::allclose(f(vs).value(), net.forward(Var<double>(in[0])).value()));
        const auto r = gradcheck(f, in);
        INFO(r.worst);
        CHECK(r.max_rel_error < 1e-6);
    }
}

TEST_CASE("nn: velocity MLP gradient w.r.t. x and t matches finite differences") {
    Rng rng(3);
    VelocityMLP<double> v(2, 8, 2, rng);
    const auto r = gradcheck([&](const std::vector<Var<double>>& x) { return v.forward(x[0], x[1]); },
                             {Rng(4).normal<double>(5, 2), Rng(5).uniform<double>(5, 1)});
    INFO(r.worst);
    CHECK(r.max_rel_error < 1e-6);
}

TEST_CASE("nn: time features and a data output: the inputs, the velocity from the denoiser, the x gradient, the checkpoint") {
    // phi(t) = (t, sin(pi t), cos(pi t), sin(2 pi t), cos(2 pi t)) for F = 2
    const Mat<double> t = {{0.0}, {0.25}, {0.97}};
    const Mat<double> phi = time_inputs(t, 2);
    REQUIRE(phi.shape(1) == 5);
    for (std::size_t i = 0; i < 3; ++i) {
        const double ti = t(i, 0);
        CHECK(phi(i, 0) == doctest::Approx(ti));
        CHECK(phi(i, 1) == doctest::Approx(std::sin(M_PI * ti)));
        CHECK(phi(i, 2) == doctest::Approx(std::cos(M_PI * ti)));
        CHECK(phi(i, 3) == doctest::Approx(std::sin(2 * M_PI * ti)));
        CHECK(phi(i, 4) == doctest::Approx(std::cos(2 * M_PI * ti)));
    }
    Rng rng(9);
    VelocityMLP<double> net(2, 8, 2, rng, 2, VelocityOutput::Data);
    CHECK(net.mlp().sizes().front() == 2 + 1 + 4);
    // v = (D - x) / max(1 - t, 0.05), D the MLP's output on (x, phi(t)); the last row meets the floor
    const Mat<double> x = Rng(10).normal<double>(3, 2);
    const Mat<double> D = net.mlp().forward(Var<double>(Mat<double>(xt::concatenate(xt::xtuple(x, phi), 1)))).value();
    const Mat<double> v = net.forward(Var<double>(x), Var<double>(t)).value();
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 2; ++j)
            CHECK(v(i, j) == doctest::Approx((D(i, j) - x(i, j)) / std::max(1 - t(i, 0), kDataGapMin)));
    // its gradient with respect to x against finite differences
    const auto r = gradcheck([&](const std::vector<Var<double>>& in) { return net.forward(in[0], Var<double>(t)); }, {x});
    INFO(r.worst);
    CHECK(r.max_rel_error < 1e-6);
    // t cannot be differentiated through the features
    CHECK_THROWS_WITH_AS(net.forward(Var<double>(x), Var<double>(t, true)), doctest::Contains("cannot be differentiated"),
                         Error);
    // the checkpoint keeps both settings
    VelocityMLP<float> f(2, 8, 2, rng, 3, VelocityOutput::Data);
    const std::string path = temp_path("features.ckpt");
    save_checkpoint(path, to_checkpoint(f));
    const auto loaded = velocity_mlp_from_checkpoint<float>(load_checkpoint(path));
    CHECK(loaded.time_features() == 3);
    CHECK(loaded.output() == VelocityOutput::Data);
    const Mat<float> xf = Rng(11).normal<float>(4, 2), tf = Rng(12).uniform<float>(4, 1);
    CHECK(f.forward(Var<float>(xf), Var<float>(tf)).value() == loaded.forward(Var<float>(xf), Var<float>(tf)).value());
    std::remove(path.c_str());
    CHECK_THROWS_WITH_AS(parse_velocity_output("noise"), doctest::Contains("velocity or data"), Error);
}

TEST_CASE("nn: clone copies values into independent leaves") {
    Rng rng(6);
    VelocityMLP<float> a(2, 4, 2, rng);
    auto b = a.clone();
    CHECK(xt::allclose(a.parameters()[0].value(), b.parameters()[0].value()));
    b.parameters()[0].value()(0, 0) += 1.0f;
    CHECK(a.parameters()[0].value()(0, 0) != b.parameters()[0].value()(0, 0));
}

TEST_CASE("nn: Adam's first steps equal the hand-computed values") {
    // One parameter p = 1, loss = p^2 / 2 so g = p; lr = 0.1, betas (0.9, 0.999).
    // Step 1: m = 0.1 g = 0.1, v = 0.001 g^2 = 0.001; mhat = 1, vhat = 1
    //         p = 1 - 0.1 * 1 / (1 + 1e-8) = 0.9 (Adam's first step is lr * sign(g)).
    // Step 2 (p is 1 - 0.1/(1 + 1e-8), 0.9 up to 1e-9): g = p; m = 0.9*0.1 + 0.1 g ~ 0.18;
    //         v = 0.999*0.001 + 0.001 g^2 ~ 0.001809
    //         mhat = 0.18 / 0.19, vhat = 0.001809 / 0.001999
    //         p = 0.9 - 0.1 * mhat / (sqrt(vhat) + 1e-8)
    Var<double> p(Mat<double>{{1.0}}, true);
    Adam<double> opt({p}, AdamConfig{0.1, 0.9, 0.999, 1e-8, 0, 0});
    auto loss_step = [&] {
        opt.zero_grad();
        backward(mul_scalar(square(p), 0.5));
        opt.step();
    };
    loss_step();
    CHECK(p.value()(0, 0) == doctest::Approx(1.0 - 0.1 / (1.0 + 1e-8)).epsilon(1e-12));
    loss_step();
    const double p1 = 1.0 - 0.1 / (1.0 + 1e-8), g2 = p1;
    const double m2 = 0.9 * 0.1 + 0.1 * g2, v2 = 0.999 * 0.001 + 0.001 * g2 * g2;
    const double mhat = m2 / 0.19, vhat = v2 / (1 - 0.999 * 0.999);
    CHECK(p.value()(0, 0) == doctest::Approx(p1 - 0.1 * mhat / (std::sqrt(vhat) + 1e-8)).epsilon(1e-12));
    CHECK(opt.steps_taken() == 2);
}

TEST_CASE("nn: Adam weight decay, gradient clipping, and a NaN gradient") {
    Var<double> p(Mat<double>{{2.0, 0.0}}, true);
    // clip: g = (30, 40), norm 50 -> scaled to norm 5 = (3, 4); Adam's first step is
    // still lr * sign, but the returned norm is the unclipped one.
    Adam<double> opt({p}, AdamConfig{0.1, 0.9, 0.999, 1e-8, 0.5, 5.0});
    p.grad() = Mat<double>{{30.0, 40.0}};
    CHECK(opt.step() == doctest::Approx(50.0));
    // p0 = 2 - 0.1 * 1 - 0.1 * 0.5 * 2 = 1.8 (decoupled decay uses the old value)
    CHECK(p.value()(0, 0) == doctest::Approx(1.8));
    CHECK(p.value()(0, 1) == doctest::Approx(-0.1));
    p.grad() = Mat<double>{{std::nan(""), 1.0}};
    const double before = p.value()(0, 0);
    CHECK_THROWS_WITH_AS(opt.step(), doctest::Contains("Adam: iteration 2: the gradient norm is nan"), Error);
    CHECK(p.value()(0, 0) == before);  // nothing changed
}

TEST_CASE("nn: SGD with momentum") {
    Var<double> p(Mat<double>{{1.0}}, true);
    SGD<double> opt({p}, 0.1, 0.5);
    p.grad() = Mat<double>{{1.0}};
    opt.step();  // b = 1, p = 0.9
    opt.step();  // b = 1.5, p = 0.75
    CHECK(p.value()(0, 0) == doctest::Approx(0.75));
}

TEST_CASE("nn: a small MLP learns a regression with Adam") {
    // y = sin(3x) on [-1, 1]: the loss must fall by 10x in 300 steps.
    Rng rng(7);
    MLP<float> net({1, 32, 32, 1}, Activation::SiLU, rng);
    Adam<float> opt(net.parameters(), AdamConfig{1e-2});
    Mat<float> x = zeros<float>(64, 1), y = zeros<float>(64, 1);
    for (Index i = 0; i < 64; ++i) x(i, 0) = -1.0f + 2.0f * float(i) / 63.0f, y(i, 0) = std::sin(3 * x(i, 0));
    double first = 0, last = 0;
    for (int s = 0; s < 300; ++s) {
        opt.zero_grad();
        Var<float> loss = mean(square(net.forward(Var<float>(x)) - Var<float>(y)));
        if (s == 0) first = loss.item();
        last = loss.item();
        backward(loss);
        opt.step();
    }
    CHECK(last < first / 10);
}

TEST_CASE("nn: checkpoint round trip") {
    Rng rng(8);
    VelocityMLP<float> v(2, 16, 3, rng);
    const std::string path = temp_path("roundtrip.ckpt");
    save_checkpoint(path, to_checkpoint(v));
    const auto loaded = velocity_mlp_from_checkpoint<float>(load_checkpoint(path));
    CHECK(loaded.dim() == 2);
    CHECK(loaded.width() == 16);
    CHECK(loaded.depth() == 3);
    const auto a = v.parameters(), b = loaded.parameters();
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i].value() == b[i].value());
    // the classifier kind too
    MLP<float> clf({4, 3, 2}, Activation::SiLU, rng);
    save_checkpoint(path, to_checkpoint(clf));
    CHECK(mlp_from_checkpoint<float>(load_checkpoint(path)).parameters()[2].value() ==
          clf.parameters()[2].value());
    CHECK_FALSE(std::ifstream(path + ".tmp").good());  // the temporary was renamed away
    std::remove(path.c_str());
}

TEST_CASE("nn: bad checkpoints give clear errors") {
    Rng rng(9);
    VelocityMLP<float> v(2, 8, 2, rng);
    const std::string path = temp_path("bad.ckpt");
    save_checkpoint(path, to_checkpoint(v));
    const std::string good = read_bytes(path);

    CHECK_THROWS_WITH_AS(load_checkpoint(temp_path("does_not_exist.ckpt")),
                         doctest::Contains("cannot open"), Error);

    write_bytes(path, good.substr(0, good.size() / 2));
    CHECK_THROWS_WITH_AS(load_checkpoint(path), doctest::Contains("truncated"), Error);

    std::string wrong_magic = good;
    wrong_magic[0] = 'X';
    write_bytes(path, wrong_magic);
    CHECK_THROWS_WITH_AS(load_checkpoint(path), doctest::Contains("wrong magic"), Error);

    std::string flipped = good;
    flipped[good.size() - 10] ^= 0x55;  // a parameter byte
    write_bytes(path, flipped);
    CHECK_THROWS_WITH_AS(load_checkpoint(path), doctest::Contains("checksum"), Error);

    // a good file of another shape: the model refuses it, naming the tensor
    VelocityMLP<float> other(2, 16, 2, rng);
    save_checkpoint(path, to_checkpoint(other));
    auto ck = load_checkpoint(path);
    CHECK_THROWS_WITH_AS(load_parameters(ck, v.parameters(), path), doctest::Contains("shape"), Error);
    // and the wrong kind
    MLP<float> clf({3, 2}, Activation::SiLU, rng);
    save_checkpoint(path, to_checkpoint(clf));
    CHECK_THROWS_WITH_AS(velocity_mlp_from_checkpoint<float>(load_checkpoint(path)),
                         doctest::Contains("expected a 'velocity_mlp'"), Error);
    std::remove(path.c_str());
}
