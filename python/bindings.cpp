// llamaprof._llamaprof: the pybind11 layer over the public C++ API (include/llamaprof/: model.h,
// context.h, generate.h, error.h). The pure-Python package llamaprof/ builds the documented API
// (Model, Llama) on top of the two classes here:
//   Engine  one Model and one Context; tokenizer, generation, logits (buffer protocol), stats
//   Job     one generation running on a worker thread; stream() reads its steps from a queue
//   ChatFormat  a model's chat template (or a built-in one): messages -> prompt text
//   Grammar  a compiled GBNF grammar (parse_grammar; JSON schemas via json_schema_to_gbnf)
//
// Threading: a generation runs on its own std::thread and never touches the GIL. The Python
// thread waits on a condition variable with the GIL released, waking every kSignalPollMs to run
// PyErr_CheckSignals(). A pending KeyboardInterrupt sets the job's cancel flag (lp::generate checks
// it before every forward pass and the on_token callback returns false), the worker is joined,
// and then the KeyboardInterrupt propagates: the Engine stays consistent and usable.
#include <pybind11/pybind11.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "llamaprof/chat_session.h"
#include "llamaprof/context.h"
#include "llamaprof/embed.h"
#include "llamaprof/error.h"
#include "llamaprof/generate.h"
#include "llamaprof/model.h"
#include "model/speculative.h"  // prompt_lookup_draft: LlamaPromptLookupDecoding's drafts
#include "runtime/thread_pool.h"  // ThreadTimes, returned by Context::thread_pool().times()
#include "tokenizer/tokenizer.h"   // Tokenizer::token_to_piece(id, render_special), is_eog
#include "sampling/grammar.h"
#include "sampling/grammar_matcher.h"
#include "sampling/grammar_stage.h"  // GrammarStage: the grammar as a constraint on Sampler.sample
#include "sampling/json_schema.h"

namespace py = pybind11;

namespace {

// A compiled grammar and its text, as Python holds it.
struct PyGrammar {
  std::shared_ptr<const lp::Grammar> grammar;
  // The whole text matches (complete), or is a prefix of a match (prefix).
  bool matches(const std::string& text, bool complete) const {
    lp::GrammarMatcher m(grammar);
    return m.accept(text) && (!complete || m.is_complete());
  }
};

constexpr auto kSignalPollMs = std::chrono::milliseconds(50);

// Token pieces can be partial UTF-8 sequences (byte tokens such as <0xE2>): text given to Python
// as str is decoded with replacement, and the exact bytes are offered alongside where they matter.
py::str to_str(const std::string& s) {
  PyObject* o = PyUnicode_DecodeUTF8(s.data(), Py_ssize_t(s.size()), "replace");
  if (!o) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(o);
}

// A prompt or text argument: str (encoded as UTF-8) or bytes-like, as llama-cpp-python accepts.
std::string text_arg(const py::handle& h, const char* what) {
  if (py::isinstance<py::str>(h)) {
    Py_ssize_t n = 0;
    const char* p = PyUnicode_AsUTF8AndSize(h.ptr(), &n);
    if (!p) throw py::error_already_set();
    return std::string(p, size_t(n));
  }
  if (py::isinstance<py::bytes>(h)) return std::string(py::reinterpret_borrow<py::bytes>(h));
  if (PyByteArray_Check(h.ptr())) {
    return std::string(PyByteArray_AsString(h.ptr()), size_t(PyByteArray_Size(h.ptr())));
  }
  throw py::type_error(std::string(what) + " must be str or bytes, not " +
                       std::string(py::str(py::type::handle_of(h).attr("__name__"))));
}

// log-softmax of logits[id] over the whole vocabulary: the sampled token's log-probability.
float logprob_of(std::span<const float> logits, lp::TokenId id) {
  float mx = -std::numeric_limits<float>::infinity();
  for (float v : logits) mx = std::max(mx, v);
  double sum = 0;
  for (float v : logits) sum += std::exp(double(v) - double(mx));
  return float(double(logits[size_t(id)]) - double(mx) - std::log(sum));
}

py::dict timings_dict(const lp::Timings& t) {
  py::dict d;
  d["load_ms"] = t.load_ms;
  d["prompt_tokens"] = t.prompt_tokens;
  d["prompt_ms"] = t.prompt_ms;
  d["prompt_tps"] = t.prompt_tps;
  d["gen_tokens"] = t.gen_tokens;
  d["gen_ms"] = t.gen_ms;
  d["gen_tps"] = t.gen_tps;
  d["sample_ms"] = t.sample_ms;
  d["gen_passes"] = t.gen_passes;
  d["draft_tokens"] = t.draft_tokens;
  d["draft_accepted"] = t.draft_accepted;
  return d;
}

py::list candidates_list(const std::vector<lp::TokenCandidate>& cands) {
  py::list out;
  for (const lp::TokenCandidate& c : cands) {
    out.append(py::make_tuple(c.id, to_str(c.text), py::bytes(c.text), c.p, c.logprob));
  }
  return out;
}

// A generated step with the sampled token's log-probability (NaN when not asked for).
struct StepRecord {
  lp::GenerateStep step;
  float logprob = std::numeric_limits<float>::quiet_NaN();
};

py::dict step_dict(const StepRecord& r) {
  py::dict d;
  d["index"] = r.step.index;
  d["id"] = r.step.id;
  d["piece"] = to_str(r.step.piece);
  d["piece_bytes"] = py::bytes(r.step.piece);
  d["latency_ms"] = r.step.latency_ms;
  d["logprob"] = std::isnan(r.logprob) ? py::object(py::none()) : py::object(py::float_(r.logprob));
  d["candidates"] = candidates_list(r.step.candidates);
  return d;
}

class Engine;
void check_id(Engine& e, lp::TokenId id);

// One generation on a worker thread. Steps are queued for stream(); the result (or the engine's
// exception) is kept for the Python thread.
class Job {
 public:
  // draft: the draft model's engine (speculative decoding), busy while the job runs; may be null.
  Job(Engine& engine, std::string prompt, lp::GenerateParams params, bool streaming, bool want_logprob,
      Engine* draft = nullptr);
  ~Job();
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;

  // The next step as a dict, or None once the generation has finished. Waits signal-aware.
  py::object next_step();
  // Waits for the end and returns the result dict; raises the engine's error, if any.
  py::dict result();
  // Asks the generation to stop before its next forward pass (finish_reason "cancelled").
  void cancel() { cancel_.store(true); }
  bool done() {
    std::lock_guard<std::mutex> lock(mutex_);
    return done_;
  }

 private:
  void run();
  template <class Pred>
  void wait_signal_aware(Pred pred);
  void stop_and_join();  // GIL must be released by the caller

  Engine& engine_;
  Engine* draft_;
  std::string prompt_;
  lp::GenerateParams params_;
  bool streaming_;
  bool want_logprob_;
  std::atomic<bool> cancel_{false};

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<StepRecord> queue_;   // streaming: steps not yet handed to Python
  std::vector<float> logprobs_;    // per generated token, in order
  bool done_ = false;
  std::optional<lp::GenerateResult> result_;
  std::exception_ptr error_;
  std::thread thread_;
};

lp::KvType kv_type(const std::string& name, const char* what) {
  if (name == "f16") return lp::KvType::F16;
  if (name == "f32") return lp::KvType::F32;
  if (name == "q8_0") return lp::KvType::Q8_0;
  throw lp::Error(lp::ErrorKind::InvalidArgument, std::string(what) + ": unknown KV cache type '" + name +
                                                      "' (f16, f32, q8_0)");
}

class Engine {
 public:
  Engine(const std::string& path, int n_threads, int n_ctx, int n_batch, bool use_mmap, bool use_mlock,
         bool prefetch, bool logits_all, bool embeddings, bool vocab_only, const std::string& type_k,
         const std::string& type_v) {
    lp::ModelParams mp;
    mp.use_mmap = use_mmap;
    mp.use_mlock = use_mlock;
    mp.prefetch = prefetch;
    mp.vocab_only = vocab_only;
    lp::ContextParams cp;
    cp.n_ctx = n_ctx;
    cp.n_batch = n_batch;
    cp.n_threads = n_threads;
    cp.logits_all = logits_all;
    cp.embeddings = embeddings;
    cp.type_k = kv_type(type_k, "type_k");
    cp.type_v = kv_type(type_v, "type_v");
    logits_all_ = logits_all;
    py::gil_scoped_release nogil;  // mapping, binding and KV allocation take a while for big files
    model_ = std::make_unique<lp::Model>(lp::Model::load(path, mp));
    if (!vocab_only) ctx_ = std::make_unique<lp::Context>(*model_, cp);  // vocab_only: a tokenizer only
  }

  lp::Model& model() { return *model_; }
  lp::Context& ctx() {
    if (!ctx_) {
      throw lp::Error(lp::ErrorKind::InvalidArgument,
                      model_->path() + " was loaded with vocab_only=True: it has no context to evaluate tokens");
    }
    return *ctx_;
  }
  bool has_ctx() const { return ctx_ != nullptr; }
  bool logits_all() const { return logits_all_; }
  // Drops the context and the model (Llama.close()); every later use raises.
  void close() {
    acquire("close the model");
    ctx_.reset();
    closed_ = true;
    release();
  }
  bool closed() const { return closed_; }

  // One generation (or eval) at a time: the Context is not re-entrant.
  void acquire(const char* what) {
    bool expected = false;
    if (!busy_.compare_exchange_strong(expected, true)) {
      throw lp::Error(lp::ErrorKind::Runtime,
                      std::string("cannot ") + what +
                          ": a generation is still running on this model (finish or close the stream first)");
    }
  }
  void release() { busy_.store(false); }

  void cancel_running() {
    std::lock_guard<std::mutex> lock(jobs_mutex_);
    if (running_) running_->cancel();
  }
  void set_running(Job* job) {
    std::lock_guard<std::mutex> lock(jobs_mutex_);
    running_ = job;
  }

 private:
  std::unique_ptr<lp::Model> model_;
  std::unique_ptr<lp::Context> ctx_;  // holds a reference to *model_: destroyed first
  std::atomic<bool> busy_{false};
  bool closed_ = false;
  bool logits_all_ = false;
  std::mutex jobs_mutex_;
  Job* running_ = nullptr;
};

// Holds the Engine for one call (acquire/release), as every computing call does.
struct Busy {
  Engine& e;
  Busy(Engine& engine, const char* what) : e(engine) { e.acquire(what); }
  ~Busy() { e.release(); }
  Busy(const Busy&) = delete;
  Busy& operator=(const Busy&) = delete;
};

void check_id(Engine& e, lp::TokenId id) {
  if (id < 0 || id >= e.model().n_vocab()) {
    throw lp::Error(lp::ErrorKind::InvalidArgument, "token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                                                        std::to_string(e.model().n_vocab() - 1) + ")");
  }
}

Job::Job(Engine& engine, std::string prompt, lp::GenerateParams params, bool streaming, bool want_logprob,
         Engine* draft)
    : engine_(engine), draft_(draft), prompt_(std::move(prompt)), params_(std::move(params)), streaming_(streaming),
      want_logprob_(want_logprob) {
  engine_.acquire(streaming ? "start a stream" : "generate");
  if (draft_) {
    try {
      draft_->acquire("draft with this model");
    } catch (...) {
      engine_.release();
      throw;
    }
  }
  params_.cancel = &cancel_;
  params_.on_token = [this](const lp::GenerateStep& step) {
    StepRecord rec;
    // The logits this token was sampled from (with speculative decoding, Context::logits() is
    // the verify pass's last row).
    if (want_logprob_) rec.logprob = logprob_of(step.logits, step.id);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      logprobs_.push_back(rec.logprob);
      if (streaming_) {
        rec.step = step;
        queue_.push_back(std::move(rec));
      }
    }
    if (streaming_) cv_.notify_one();
    return !cancel_.load(std::memory_order_relaxed);
  };
  engine_.set_running(this);
  try {
    thread_ = std::thread([this] { run(); });
  } catch (...) {
    engine_.set_running(nullptr);
    engine_.release();
    if (draft_) draft_->release();
    throw;
  }
}

Job::~Job() {
  if (thread_.joinable()) {
    if (PyGILState_Check()) {
      py::gil_scoped_release nogil;
      stop_and_join();
    } else {
      stop_and_join();
    }
  }
}

void Job::run() {
  std::optional<lp::GenerateResult> result;
  std::exception_ptr error;
  try {
    result = lp::generate(engine_.ctx(), prompt_, params_);
  } catch (...) {
    error = std::current_exception();
  }
  engine_.set_running(nullptr);
  engine_.release();
  if (draft_) draft_->release();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    result_ = std::move(result);
    error_ = error;
    done_ = true;
  }
  cv_.notify_all();
}

void Job::stop_and_join() {
  cancel_.store(true);
  if (thread_.joinable()) thread_.join();
}

// Waits (GIL released) until pred() holds under mutex_; between short waits, with the GIL held,
// lets Python run its signal handlers. If one raises (KeyboardInterrupt), the generation is
// stopped cleanly and the exception propagates.
template <class Pred>
void Job::wait_signal_aware(Pred pred) {
  for (;;) {
    bool ready;
    {
      py::gil_scoped_release nogil;
      std::unique_lock<std::mutex> lock(mutex_);
      ready = cv_.wait_for(lock, kSignalPollMs, pred);
    }
    if (ready) return;
    if (PyErr_CheckSignals() != 0) {
      py::error_already_set pending;  // fetches the KeyboardInterrupt (or other handler error)
      {
        py::gil_scoped_release nogil;
        stop_and_join();
      }
      throw pending;
    }
  }
}

py::object Job::next_step() {
  wait_signal_aware([this] { return !queue_.empty() || done_; });
  StepRecord rec;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queue_.empty()) return py::none();  // done, everything handed out
    rec = std::move(queue_.front());
    queue_.pop_front();
  }
  return step_dict(rec);
}

py::dict Job::result() {
  wait_signal_aware([this] { return done_; });
  {
    py::gil_scoped_release nogil;
    if (thread_.joinable()) thread_.join();
  }
  if (error_) std::rethrow_exception(error_);
  const lp::GenerateResult& r = *result_;
  py::dict d;
  d["text"] = to_str(r.text);
  d["text_bytes"] = py::bytes(r.text);
  d["tokens"] = r.tokens;
  d["prompt_tokens"] = r.prompt_tokens;
  d["finish_reason"] = r.finish_reason;
  d["timings"] = timings_dict(r.timings);
  py::list steps;
  for (size_t i = 0; i < r.steps.size(); ++i) {
    StepRecord rec{r.steps[i], i < logprobs_.size() ? logprobs_[i] : std::numeric_limits<float>::quiet_NaN()};
    steps.append(step_dict(rec));
  }
  d["steps"] = steps;
  return d;
}

// The sampler chain's settings, as both Engine.start and Sampler take them.
lp::SamplerParams sampler_params(float temperature, int top_k, float top_p, float min_p, float repeat_penalty,
                                 int repeat_last_n, float frequency_penalty, float presence_penalty, uint64_t seed) {
  lp::SamplerParams sp;
  sp.temperature = temperature;
  sp.top_k = top_k;
  sp.top_p = top_p;
  sp.min_p = min_p;
  sp.repeat_penalty = repeat_penalty;
  sp.repeat_last_n = repeat_last_n;
  sp.frequency_penalty = frequency_penalty;
  sp.presence_penalty = presence_penalty;
  sp.seed = seed;
  return sp;
}

lp::GenerateParams make_params(int max_tokens, float temperature, int top_k, float top_p, float min_p,
                               float repeat_penalty, int repeat_last_n, float frequency_penalty,
                               float presence_penalty, std::vector<std::string> stop, uint64_t seed,
                               int top_candidates, std::optional<bool> add_bos, bool special, bool keep_cache,
                               bool ignore_eos) {
  if (top_candidates < 0) {
    throw lp::Error(lp::ErrorKind::InvalidArgument,
                    "top_candidates must be >= 0 (got " + std::to_string(top_candidates) + ")");
  }
  lp::GenerateParams gp;
  gp.max_tokens = max_tokens;
  gp.sampler = sampler_params(temperature, top_k, top_p, min_p, repeat_penalty, repeat_last_n, frequency_penalty,
                              presence_penalty, seed);
  gp.stop = std::move(stop);
  gp.top_candidates = top_candidates;
  gp.add_bos = add_bos;
  gp.parse_special = special;
  gp.keep_cache = keep_cache;
  gp.ignore_eos = ignore_eos;
  return gp;
}

// Log-probabilities of each prompt token given the tokens before it (None for the first), with
// the n_top most likely alternatives at each position: what llama-cpp-python reports for
// echo=True with logprobs. Uses a temporary context that keeps every position's logits.
py::list prompt_logprobs(Engine& e, const std::vector<lp::TokenId>& tokens, int n_top) {
  struct Row {
    float logprob;
    std::vector<std::pair<lp::TokenId, float>> top;
  };
  std::vector<Row> rows;
  {
    Busy busy(e, "compute prompt log-probabilities");
    py::gil_scoped_release nogil;
    if (!tokens.empty()) {
      lp::ContextParams cp;
      cp.n_ctx = int(tokens.size());
      cp.n_batch = std::min(e.ctx().n_batch(), int(tokens.size()));
      cp.n_threads = e.ctx().n_threads();
      cp.logits_all = true;
      lp::Context scratch(e.model(), cp);
      scratch.eval(tokens);
      std::vector<double> lp_row;
      for (size_t i = 1; i < tokens.size(); ++i) {
        std::span<const float> logits = scratch.logits_at(int(i) - 1);
        float mx = -std::numeric_limits<float>::infinity();
        for (float v : logits) mx = std::max(mx, v);
        double sum = 0;
        for (float v : logits) sum += std::exp(double(v) - double(mx));
        const double lse = double(mx) + std::log(sum);
        Row row{float(double(logits[size_t(tokens[i])]) - lse), {}};
        if (n_top > 0) {
          std::vector<lp::TokenId> ids(logits.size());
          for (size_t k = 0; k < ids.size(); ++k) ids[k] = lp::TokenId(k);
          const size_t n = std::min(size_t(n_top), ids.size());
          std::partial_sort(ids.begin(), ids.begin() + ptrdiff_t(n), ids.end(),
                            [&](lp::TokenId a, lp::TokenId b) { return logits[size_t(a)] > logits[size_t(b)]; });
          for (size_t k = 0; k < n; ++k) row.top.emplace_back(ids[k], float(double(logits[size_t(ids[k])]) - lse));
        }
        rows.push_back(std::move(row));
      }
    }
  }
  py::list out;
  for (const Row& r : rows) {
    py::list top;
    for (auto& [id, lp] : r.top) top.append(py::make_tuple(id, lp));
    out.append(py::make_tuple(r.logprob, top));
  }
  return out;
}

py::dict hparams_dict(const lp::HParams& h) {
  py::dict d;
  d["arch"] = h.arch;
  d["n_vocab"] = h.n_vocab;
  d["n_ctx_train"] = h.n_ctx_train;
  d["n_embd"] = h.n_embd;
  d["n_layer"] = h.n_layer;
  d["n_ff"] = h.n_ff;
  d["n_head"] = h.n_head;
  d["n_head_kv"] = h.n_head_kv;
  d["head_dim"] = h.head_dim;
  d["n_rot"] = h.n_rot;
  d["rms_eps"] = h.rms_eps;
  d["rope_freq_base"] = h.rope_freq_base;
  d["rope_freq_scale"] = h.rope_freq_scale;
  d["sliding_window"] = h.sliding_window;
  return d;
}

void translate_error(const lp::Error& e) {
  switch (e.kind()) {
    case lp::ErrorKind::FileNotFound:
      PyErr_SetString(PyExc_FileNotFoundError, e.what());
      return;
    case lp::ErrorKind::InvalidFile:
    case lp::ErrorKind::InvalidArgument:
    case lp::ErrorKind::Unsupported:
      PyErr_SetString(PyExc_ValueError, e.what());
      return;
    case lp::ErrorKind::Runtime:
      break;
  }
  PyErr_SetString(PyExc_RuntimeError, e.what());
}

}  // namespace

PYBIND11_MODULE(_llamaprof, m) {
  m.doc() = "llamaprof engine binding (use the llamaprof package, not this module directly)";

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const lp::Error& e) {
      translate_error(e);
    }
  });

  m.def(
      "prompt_lookup_draft",
      [](const std::vector<lp::TokenId>& tokens, int ngram_min, int ngram_max, int max_tokens) {
        lp::validate(lp::SpeculativeParams{max_tokens, ngram_min, ngram_max, {}});
        std::vector<lp::TokenId> draft;
        lp::prompt_lookup_draft(tokens, ngram_min, ngram_max, max_tokens, draft);
        return draft;
      },
      py::arg("tokens"), py::arg("ngram_min"), py::arg("ngram_max"), py::arg("max_tokens"),
      "the tokens that followed the latest earlier occurrence of the last n-gram (n = ngram_max .. ngram_min)");
  m.def("builtin_chat_formats", &lp::builtin_chat_formats, "llama.cpp's names of the built-in chat formats");

  // Messages cross as a JSON string: the C++ side checks them, Python's json module encodes them.
  py::class_<lp::ChatFormat>(m, "ChatFormat")
      .def_property_readonly("name", &lp::ChatFormat::name)
      .def(
          "render",
          [](const lp::ChatFormat& f, const std::string& messages_json, bool add_generation_prompt) {
            nlohmann::ordered_json msgs = nlohmann::ordered_json::parse(messages_json, nullptr, false);
            if (msgs.is_discarded()) throw lp::Error(lp::ErrorKind::InvalidArgument, "chat messages are not valid JSON");
            return to_str(f.render(msgs, add_generation_prompt));
          },
          py::arg("messages_json"), py::arg("add_generation_prompt") = true)
      .def("add_bos", [](const lp::ChatFormat& f, const py::object& prompt) { return f.add_bos(text_arg(prompt, "prompt")); },
           "whether the rendered prompt needs BOS from the tokenizer (false when the template wrote it)");

  py::class_<PyGrammar>(m, "Grammar")
      .def_property_readonly("gbnf", [](const PyGrammar& g) { return g.grammar->source(); })
      .def_property_readonly("n_rules", [](const PyGrammar& g) { return g.grammar->n_rules(); })
      .def("matches", [](const PyGrammar& g, const py::object& text) { return g.matches(text_arg(text, "text"), true); },
           "whether the whole text is in the grammar's language")
      .def("is_prefix", [](const PyGrammar& g, const py::object& text) { return g.matches(text_arg(text, "text"), false); },
           "whether the text can be continued into the grammar's language");
  // The grammar as a sampler constraint for a Python sampling loop (Llama.generate / sample).
  py::class_<lp::GrammarStage>(m, "GrammarStage")
      .def(py::init([](Engine& e, const PyGrammar& g) {
             return std::make_unique<lp::GrammarStage>(g.grammar, e.model().grammar_vocab());
           }),
           py::arg("engine"), py::arg("grammar"))
      .def("accept", &lp::GrammarStage::accept, py::arg("token"),
           "advances by a sampled token (end-of-generation tokens change nothing)")
      .def_property_readonly("is_complete", &lp::GrammarStage::is_complete)
      .def_property_readonly("can_continue", &lp::GrammarStage::can_continue);
  m.def("parse_grammar", [](const std::string& text) { return PyGrammar{lp::Grammar::parse(text)}; },
        "compiles GBNF text (ValueError with line and column for a malformed grammar)");
  m.def(
      "json_schema_to_gbnf",
      [](const std::string& schema_json) {
        lp::JsonSchemaGrammar j = lp::json_schema_to_gbnf(schema_json);
        return py::make_tuple(j.gbnf, j.warnings);
      },
      "(gbnf, warnings) for a JSON schema given as JSON text");
  m.attr("JSON_GBNF") = lp::json_object_gbnf();

  py::class_<Job>(m, "Job")
      .def("next", &Job::next_step, "the next generated step as a dict, or None when finished")
      .def("result", &Job::result, "waits for the end; the result dict")
      .def("cancel", &Job::cancel)
      .def_property_readonly("done", &Job::done);

  py::class_<Engine>(m, "Engine", py::buffer_protocol())
      .def(py::init<const std::string&, int, int, int, bool, bool, bool, bool, bool, bool, const std::string&,
                    const std::string&>(),
           py::arg("path"), py::arg("n_threads") = 0, py::arg("n_ctx") = 0, py::arg("n_batch") = 512,
           py::arg("use_mmap") = true, py::arg("use_mlock") = false, py::arg("prefetch") = false,
           py::arg("logits_all") = false, py::arg("embeddings") = false, py::arg("vocab_only") = false,
           py::arg("type_k") = "f16", py::arg("type_v") = "f16")
      // The logits of the last step, zero-copy: n_vocab float32 owned by the Context. The buffer
      // is read-only and is overwritten by the next forward pass.
      .def_buffer([](Engine& e) {
        std::span<const float> s = e.ctx().logits();
        return py::buffer_info(const_cast<float*>(s.data()), sizeof(float), py::format_descriptor<float>::format(),
                               1, {py::ssize_t(s.size())}, {py::ssize_t(sizeof(float))}, /*readonly=*/true);
      })
      .def_property_readonly("path", [](Engine& e) { return e.model().path(); })
      .def_property_readonly("n_ctx", [](Engine& e) { return e.ctx().n_ctx(); })
      .def_property_readonly("n_batch", [](Engine& e) { return e.ctx().n_batch(); })
      .def_property_readonly("n_threads", [](Engine& e) { return e.ctx().n_threads(); })
      .def_property_readonly("n_past", [](Engine& e) { return e.ctx().n_past(); })
      .def_property_readonly("n_vocab", [](Engine& e) { return e.model().n_vocab(); })
      .def_property_readonly("bos", [](Engine& e) { return e.model().bos(); })
      .def_property_readonly("eos", [](Engine& e) { return e.model().eos(); })
      .def_property_readonly("add_bos_default", [](Engine& e) { return e.model().add_bos_default(); })
      .def_property_readonly("load_ms", [](Engine& e) { return e.model().load_ms(); })
      .def_property_readonly("file_size", [](Engine& e) { return e.model().file_size(); })
      .def_property_readonly("weight_bytes", [](Engine& e) { return e.model().weight_bytes(); })
      .def_property_readonly("n_params", [](Engine& e) { return e.model().n_params(); })
      .def_property_readonly("type_name", [](Engine& e) { return e.model().type_name(); })
      .def_property_readonly("weights_huge_pages_pct", [](Engine& e) { return e.model().weights_huge_pages_pct(); })
      .def_property_readonly("hparams", [](Engine& e) { return hparams_dict(e.model().hparams()); })
      .def("metadata",
           [](Engine& e) {
             py::dict d;
             for (const std::string& k : e.model().metadata_keys()) {
               if (auto v = e.model().metadata(k)) d[to_str(k)] = to_str(*v);
             }
             return d;
           })
      .def(
          "tokenize",
          [](Engine& e, const py::object& text, std::optional<bool> add_bos, bool special) {
            std::string s = text_arg(text, "text");
            const bool bos = add_bos.value_or(e.model().add_bos_default());
            py::gil_scoped_release nogil;
            return e.model().tokenize(s, bos, special);
          },
          py::arg("text"), py::arg("add_bos") = py::none(), py::arg("special") = false)
      .def("detokenize",
           [](Engine& e, const std::vector<lp::TokenId>& ids) {
             const int n_vocab = e.model().n_vocab();
             for (size_t i = 0; i < ids.size(); ++i) {
               if (ids[i] < 0 || ids[i] >= n_vocab) {
                 throw lp::Error(lp::ErrorKind::InvalidArgument,
                                 "token id " + std::to_string(ids[i]) + " at index " + std::to_string(i) +
                                     " is outside the vocabulary (0.." + std::to_string(n_vocab - 1) + ")");
               }
             }
             return py::bytes(e.model().detokenize(ids));
           })
      .def("token_to_piece",
           [](Engine& e, lp::TokenId id) {
             if (id < 0 || id >= e.model().n_vocab()) {
               throw lp::Error(lp::ErrorKind::InvalidArgument, "token id " + std::to_string(id) +
                                                                   " is outside the vocabulary (0.." +
                                                                   std::to_string(e.model().n_vocab() - 1) + ")");
             }
             return py::bytes(e.model().token_to_piece(id));
           })
      .def(
          "start",
          [](Engine& e, const py::object& prompt, bool stream, bool logprobs, int max_tokens, float temperature,
             int top_k, float top_p, float min_p, float repeat_penalty, int repeat_last_n, float frequency_penalty,
             float presence_penalty, std::vector<std::string> stop, uint64_t seed, int top_candidates,
             std::optional<bool> add_bos, bool special, bool keep_cache, bool ignore_eos,
             std::optional<PyGrammar> grammar, int draft_max, int ngram_min, int ngram_max,
             std::vector<lp::TokenId> draft_oracle, Engine* draft_model) {
            lp::GenerateParams gp =
                make_params(max_tokens, temperature, top_k, top_p, min_p, repeat_penalty, repeat_last_n,
                            frequency_penalty, presence_penalty, std::move(stop), seed, top_candidates, add_bos,
                            special, keep_cache, ignore_eos);
            if (grammar) gp.grammar = grammar->grammar;
            gp.speculative = {draft_max, ngram_min, ngram_max, std::move(draft_oracle), nullptr};
            if (draft_model) {
              if (draft_model == &e) {
                throw lp::Error(lp::ErrorKind::InvalidArgument, "the draft model must be another Model");
              }
              gp.speculative.draft_context = &draft_model->ctx();
            }
            lp::validate(gp.speculative);  // here, not in the worker thread
            return std::make_unique<Job>(e, text_arg(prompt, "prompt"), std::move(gp), stream, logprobs, draft_model);
          },
          // The Job's worker uses the Engines: keep them alive as long as the Job.
          py::keep_alive<0, 1>(), py::keep_alive<0, 26>(), py::arg("prompt"), py::arg("stream") = false, py::arg("logprobs") = false,
          py::arg("max_tokens") = 128, py::arg("temperature") = 0.8f, py::arg("top_k") = 40,
          py::arg("top_p") = 0.95f, py::arg("min_p") = 0.05f, py::arg("repeat_penalty") = 1.1f,
          py::arg("repeat_last_n") = 64, py::arg("frequency_penalty") = 0.0f, py::arg("presence_penalty") = 0.0f,
          py::arg("stop") = std::vector<std::string>{}, py::arg("seed") = uint64_t(0xFFFFFFFF),
          py::arg("top_candidates") = 0, py::arg("add_bos") = py::none(), py::arg("special") = false,
          py::arg("keep_cache") = false, py::arg("ignore_eos") = false, py::arg("grammar") = py::none(),
          py::arg("draft_max") = 0, py::arg("ngram_min") = 1, py::arg("ngram_max") = 3,
          py::arg("draft_oracle") = std::vector<lp::TokenId>{}, py::arg("draft_model") = nullptr)
      .def(
          "chat_format",
          [](Engine& e, const std::string& spec) { return lp::ChatFormat::for_model(e.model(), spec); },
          // The format refers to the Engine's Model.
          py::keep_alive<0, 1>(), py::arg("spec") = "",
          "the model's tokenizer.chat_template (spec ''), a built-in format by name, or a Jinja file")
      .def("cancel", &Engine::cancel_running, "stops the running generation before its next forward pass")
      .def(
          "eval",
          [](Engine& e, const std::vector<lp::TokenId>& tokens) {
            Busy busy(e, "eval");
            py::gil_scoped_release nogil;
            e.ctx().eval(tokens);
          },
          "evaluates tokens after the cached ones; the logits buffer then holds the last position's")
      .def("kv_clear",
           [](Engine& e) {
             e.acquire("clear the cache");
             e.ctx().kv_clear();
             e.release();
           })
      .def("prompt_logprobs", &prompt_logprobs, py::arg("tokens"), py::arg("n_top") = 0)
      .def("set_op_profiling", [](Engine& e, bool on) { e.ctx().set_op_profiling(on); })
      .def("reset_stats", [](Engine& e) { e.ctx().reset_stats(); })
      .def("stats",
           [](Engine& e) {
             lp::EvalStats s = e.ctx().stats();
             py::dict d;
             d["n_evals"] = s.n_evals;
             d["n_tokens"] = s.n_tokens;
             d["eval_ms"] = s.eval_ms;
             return d;
           })
      .def("op_times",
           [](Engine& e) {
             py::list out;
             for (const lp::OpTime& t : e.ctx().op_times()) out.append(py::make_tuple(t.name, t.ms, t.calls));
             return out;
           })
      .def("thread_times",
           [](Engine& e) {
             py::list out;
             for (const lp::ThreadTimes& t : e.ctx().thread_pool().times()) {
               out.append(py::make_tuple(t.busy_s, t.spin_s, t.sleep_s));
             }
             return out;
           })
      // --- llama-cpp-python's low-level surface (python/llamaprof/llama.py) ---
      .def_property_readonly("has_context", &Engine::has_ctx)
      .def_property_readonly("kv_cache_bytes", [](Engine& e) { return e.ctx().kv_cache_bytes(); })
      .def("close", &Engine::close, "drops the context (KV cache, buffers, threads)")
      .def(
          "piece",
          [](Engine& e, lp::TokenId id, bool special) {
            check_id(e, id);
            return py::bytes(e.model().tokenizer().token_to_piece(id, special));
          },
          py::arg("id"), py::arg("special") = false,
          "llama.cpp's token_to_piece: control tokens give their text only with special")
      .def("is_eog", [](Engine& e, lp::TokenId id) { return e.model().tokenizer().is_eog(id); })
      .def(
          "logits_rows",
          [](Engine& e) {
            // The logits of the last eval(): every position's with logits_all, else the last one's.
            lp::Context& c = e.ctx();
            const int n_vocab = e.model().n_vocab();
            const int rows = e.logits_all() ? c.n_outputs() : std::min(c.n_outputs(), 1);
            py::array_t<float> out({py::ssize_t(rows), py::ssize_t(n_vocab)});
            float* dst = out.mutable_data();
            for (int r = 0; r < rows; ++r) {
              std::span<const float> src = e.logits_all() ? c.logits_at(r) : c.logits();
              std::copy(src.begin(), src.end(), dst + size_t(r) * size_t(n_vocab));
            }
            return out;
          },
          "a (rows, n_vocab) float32 copy of the last eval's logits")
      .def("kv_truncate",
           [](Engine& e, int n) {
             Busy busy(e, "truncate the cache");
             e.ctx().kv_truncate(n);
           })
      .def("save_state",
           [](Engine& e) {
             Busy busy(e, "save the state");
             std::string s;
             {
               py::gil_scoped_release nogil;
               s = e.ctx().save_state();
             }
             return py::bytes(s);
           })
      .def("load_state",
           [](Engine& e, const py::bytes& state) {
             Busy busy(e, "load a state");
             std::string s = state;
             py::gil_scoped_release nogil;
             e.ctx().load_state(s);
           })
      .def(
          "embed",
          [](Engine& e, const std::vector<lp::TokenId>& tokens, const std::string& pooling, bool normalize) {
            Busy busy(e, "embed");
            const lp::Pooling p = pooling.empty() ? lp::default_pooling(e.model()) : lp::pooling_from_name(pooling);
            py::gil_scoped_release nogil;
            return lp::embed(e.ctx(), tokens, p, normalize);
          },
          py::arg("tokens"), py::arg("pooling") = "", py::arg("normalize") = false,
          "rows of n_embd floats: one per token (pooling 'none') or one pooled row; pooling '' is the model's")
      .def("default_pooling", [](Engine& e) { return std::string(lp::pooling_name(lp::default_pooling(e.model()))); });

  // The engine's sampler chain over a logits row that Python may have changed (logits processors,
  // logit_bias): llama-cpp-python's Llama.sample() and generate() run it once per token.
  py::class_<lp::Sampler>(m, "Sampler")
      .def(py::init([](float temperature, int top_k, float top_p, float min_p, float repeat_penalty,
                       int repeat_last_n, float frequency_penalty, float presence_penalty, uint64_t seed) {
             return lp::Sampler(sampler_params(temperature, top_k, top_p, min_p, repeat_penalty, repeat_last_n,
                                               frequency_penalty, presence_penalty, seed));
           }),
           py::arg("temperature") = 0.8f, py::arg("top_k") = 40, py::arg("top_p") = 0.95f, py::arg("min_p") = 0.05f,
           py::arg("repeat_penalty") = 1.0f, py::arg("repeat_last_n") = 64, py::arg("frequency_penalty") = 0.0f,
           py::arg("presence_penalty") = 0.0f, py::arg("seed") = uint64_t(0xFFFFFFFF))
      .def(
          "sample",
          [](lp::Sampler& s, const py::array_t<float, py::array::c_style | py::array::forcecast>& logits,
             const std::vector<int32_t>& history, lp::GrammarStage* grammar) {
            if (logits.ndim() != 1) throw lp::Error(lp::ErrorKind::InvalidArgument, "logits must be 1-D");
            std::span<const float> row(logits.data(), size_t(logits.shape(0)));
            if (grammar && grammar->vocab_size() != row.size()) {
              throw lp::Error(lp::ErrorKind::InvalidArgument, "the grammar stage is for a vocabulary of " +
                                                                  std::to_string(grammar->vocab_size()) +
                                                                  " tokens, the logits have " +
                                                                  std::to_string(row.size()));
            }
            return s.sample(row, history, grammar);
          },
          py::arg("logits"), py::arg("history"), py::arg("grammar") = nullptr,
          "the next token; with a GrammarStage only a token the grammar allows (accept() it afterwards)")
      .def("reset", &lp::Sampler::reset, py::arg("seed"))
      .def("top_candidates", [](const lp::Sampler& s, int n) {
        py::list out;
        for (const lp::Candidate& c : s.top_candidates(n)) out.append(py::make_tuple(c.id, c.p));
        return out;
      });
}
