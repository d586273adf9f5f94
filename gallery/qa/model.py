"""The two question-answering models: the Keras babi_rnn baseline and a recurrent memory reader with attention.

Both take two inputs and return answer logits. Their layers are named, so the attention weights of a trained or
loaded model are read back by name (`with_attention`), never by position.

- `baseline(...)`: the story's words in one sequence through a recurrent stack (`story_<i>`), the question through
  another (`question_<i>`), their final states concatenated, then a softmax over the answers (`answer`).
- `memory_reader(...)`: every sentence of the story encoded by one shared recurrent stack (`sentence_<i>`), the
  question by another (`question_<i>`); then `hops` rounds of dot-product attention over the sentence vectors
  (`hop_<k>_attention`, Keras' Luong attention), each with its own key and value projections plus a learned
  encoding of the sentence's position from the end of the story, as in MemN2N (Sukhbaatar et al. 2015), with
  u_{k+1} = H_k u_k + o_k; then the answer softmax.
"""

from __future__ import annotations

import keras
import numpy as np

from datasets import babi
from gallery.qa.config import QAConfig
from gallery.qa.layers import FoldSentences, MemorySlotMask, SqueezeSteps, TemporalEncoding, UnfoldSentences
from models.attention import attention_layer
from models.stacks import RecurrentStack, RNNSpec


def build_model(config: QAConfig, vocab_size: int, num_answers: int, memory_size: int) -> keras.Model:
    """The model `--model` names, with the recurrent encoders of the shared flags."""
    spec = config.rnn_spec()
    if config.model == "baseline":
        return baseline(spec, vocab_size, num_answers, config.embedding_dim)
    empty_id = babi.RESERVED.index(babi.EMPTY)
    return memory_reader(spec, vocab_size, num_answers, config.embedding_dim, memory_size, config.hops, empty_id)


def _final_vector(stack: RecurrentStack, states: list, name: str):
    """The top layer's final hidden state (both directions' when bidirectional)."""
    top = states[-1]
    if stack.bidirectional:
        half = len(top) // 2
        return keras.layers.Concatenate(name=name)([top[0], top[half]])
    return keras.layers.Identity(name=name)(top[0])


def baseline(
    spec: RNNSpec, vocab_size: int, num_answers: int, embedding_dim: int, name: str = "qa_baseline"
) -> keras.Model:
    """Story RNN and question RNN, final states concatenated, softmax over answers (Keras' babi_rnn design)."""
    story = keras.Input(shape=(None,), dtype="int32", name="story")
    question = keras.Input(shape=(None,), dtype="int32", name="question")
    embedding = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="word_embedding")
    story_stack = RecurrentStack(spec, "story")
    question_stack = RecurrentStack(spec, "question")
    _, story_states = story_stack(embedding(story))
    _, question_states = question_stack(embedding(question))
    merged = keras.layers.Concatenate(name="merge")(
        [
            _final_vector(story_stack, story_states, "story_vector"),
            _final_vector(question_stack, question_states, "question_vector"),
        ]
    )
    if spec.dropout > 0:
        merged = keras.layers.Dropout(spec.dropout, name="merge_dropout")(merged)
    logits = keras.layers.Dense(num_answers, name="answer")(merged)
    return keras.Model({"story": story, "question": question}, logits, name=name)


def memory_reader(
    spec: RNNSpec,
    vocab_size: int,
    num_answers: int,
    embedding_dim: int,
    memory_size: int,
    hops: int,
    empty_id: int,
    name: str = "qa_attention",
) -> keras.Model:
    """Sentence RNN, question RNN, `hops` rounds of attention over the sentences, softmax over answers."""
    if hops < 1:
        raise ValueError(f"hops must be at least 1, got {hops}")
    memory = keras.Input(shape=(memory_size, None), dtype="int32", name="memory")
    question = keras.Input(shape=(None,), dtype="int32", name="question")
    embedding = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="word_embedding")
    sentence_stack = RecurrentStack(spec, "sentence")
    question_stack = RecurrentStack(spec, "question")
    _, sentence_states = sentence_stack(embedding(FoldSentences(name="fold_sentences")(memory)))
    sentences = UnfoldSentences(memory_size, name="unfold_sentences")(
        _final_vector(sentence_stack, sentence_states, "sentence_vector")
    )
    slot_mask = MemorySlotMask(empty_id, name="memory_mask")(memory)
    _, question_states = question_stack(embedding(question))
    query = _final_vector(question_stack, question_states, "question_vector")
    width = spec.units * (2 if spec.bidirectional else 1)
    for hop in range(hops):
        keys = TemporalEncoding(name=f"hop_{hop}_key_time")(keras.layers.Dense(width, name=f"hop_{hop}_key")(sentences))
        values = TemporalEncoding(name=f"hop_{hop}_value_time")(
            keras.layers.Dense(width, name=f"hop_{hop}_value")(sentences)
        )
        read, _ = attention_layer("dot", name=f"hop_{hop}_attention")(
            [keras.layers.Reshape((1, width), name=f"hop_{hop}_query")(query), values, keys],
            mask=[None, slot_mask],
            return_attention_scores=True,
        )
        read = SqueezeSteps(name=f"hop_{hop}_read")(read)
        query = keras.layers.Add(name=f"hop_{hop}_next_query")(
            [keras.layers.Dense(width, use_bias=False, name=f"hop_{hop}_update")(query), read]
        )
    if spec.dropout > 0:
        query = keras.layers.Dropout(spec.dropout, name="answer_dropout")(query)
    logits = keras.layers.Dense(num_answers, name="answer")(query)
    return keras.Model({"memory": memory, "question": question}, logits, name=name)


def hop_count(model: keras.Model) -> int:
    names = {layer.name for layer in model.layers}
    hops = 0
    while f"hop_{hops}_attention" in names:
        hops += 1
    return hops


def with_attention(model: keras.Model) -> keras.Model:
    """The same memory reader, also returning each hop's attention over the memory slots: (batch, hops, slots)."""
    hops = hop_count(model)
    if not hops:
        raise ValueError(f"model {model.name!r} has no attention hops (hop_0_attention, ...)")
    scores = [model.get_layer(f"hop_{hop}_attention").output[1] for hop in range(hops)]
    stacked = keras.layers.Concatenate(axis=1, name="attention_by_hop")(scores) if hops > 1 else scores[0]
    return keras.Model(model.inputs, [model.outputs[0], stacked])


def predict_logits(model: keras.Model, inputs: dict[str, np.ndarray], batch_size: int = 256) -> np.ndarray:
    """Answer logits of many questions, a batch at a time."""
    count = len(next(iter(inputs.values())))
    return np.concatenate(
        [
            np.asarray(model({key: value[start : start + batch_size] for key, value in inputs.items()}))
            for start in range(0, count, batch_size)
        ]
    )


def attention_weights(model: keras.Model, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(logits, attention (n, hops, memory slots)) of a memory reader."""
    logits, weights = with_attention(model)(inputs)
    return np.asarray(logits), np.asarray(weights)
