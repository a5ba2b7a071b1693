"""Two well-known PyTorch programs, ported by writing `import minigrad as torch` and nothing else:
Karpathy's makemore (the bigram counts, the one-layer net trained with p.data += -lr * p.grad,
the MLP of "Building makemore part 2") and nanoGPT's model.py with its training loop, optimizer
groups, learning-rate schedule and checkpoint. The code below keeps their lines as they are
(shortened, on a tiny corpus); the asserts check that it learns and that its parts agree."""
import math

import numpy as np
import pytest

import minigrad as torch
import minigrad.nn as nn
from minigrad.nn import functional as F

WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia", "harper", "evelyn"]


def vocabulary(words):
    chars = sorted(list(set("".join(words))))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    return stoi, {i: s for s, i in stoi.items()}


def test_makemore_bigram_counts_and_the_gradient_trained_net_agree():
    stoi, itos = vocabulary(WORDS)
    V = len(stoi)
    N = torch.zeros((V, V), dtype=torch.int32)
    xs, ys = [], []
    for w in WORDS:
        chs = ["."] + list(w) + ["."]
        for ch1, ch2 in zip(chs, chs[1:]):
            N[stoi[ch1], stoi[ch2]] += 1
            xs.append(stoi[ch1])
            ys.append(stoi[ch2])
    P = (N + 1).float()
    P /= P.sum(1, keepdims=True)
    xs, ys = torch.tensor(xs), torch.tensor(ys)
    num = xs.nelement()
    counts_nll = -P[xs, ys].log().mean().item()

    g = torch.Generator().manual_seed(2147483647)
    W = torch.randn((V, V), generator=g, requires_grad=True)
    for k in range(300):
        xenc = F.one_hot(xs, num_classes=V).float()
        logits = xenc @ W
        counts = logits.exp()
        probs = counts / counts.sum(1, keepdims=True)
        loss = -probs[torch.arange(num), ys].log().mean() + 0.01 * (W ** 2).mean()
        W.grad = None
        loss.backward()
        W.data += -50 * W.grad
    # the net learns the same table the counts give (smoothing and regularisation differ a little)
    assert loss.item() < counts_nll + 0.15, (loss.item(), counts_nll)

    ix, name = 0, []
    while True:  # sampling from the counts, seeded: the same name every run
        ix = torch.multinomial(P[ix], num_samples=1, replacement=True, generator=g).item()
        name.append(itos[ix])
        if ix == 0:
            break
    assert name[-1] == "." and all(c in stoi for c in name)


def test_makemore_mlp_learns_the_names():
    stoi, itos = vocabulary(WORDS)
    block_size, X, Y = 3, [], []
    for w in WORDS:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    Xtr, Ytr = torch.tensor(X), torch.tensor(Y)
    g = torch.Generator().manual_seed(2147483647)
    C = torch.randn((len(stoi), 10), generator=g)
    W1 = torch.randn((30, 200), generator=g) * (5 / 3) / (30 ** 0.5)
    b1 = torch.randn(200, generator=g) * 0.01
    W2 = torch.randn((200, len(stoi)), generator=g) * 0.01
    b2 = torch.randn(len(stoi), generator=g) * 0
    parameters = [C, W1, b1, W2, b2]
    assert sum(p.nelement() for p in parameters) == 10 * len(stoi) + 30 * 200 + 200 + 201 * len(stoi)
    for p in parameters:
        p.requires_grad = True
    lossi = []
    for i in range(400):
        ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
        emb = C[Xtr[ix]]
        h = torch.tanh(emb.view(-1, 30) @ W1 + b1)
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, Ytr[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < 300 else 0.01
        for p in parameters:
            p.data += -lr * p.grad
        lossi.append(loss.log10().item())
    with torch.no_grad():
        emb = C[Xtr]
        h = torch.tanh(emb.view(emb.shape[0], -1) @ W1 + b1)
        full_loss = F.cross_entropy(h @ W2 + b2, Ytr).item()
    assert full_loss < 0.6 < math.log(len(stoi))  # from ln 27 = 3.3 down to memorising ten names
    assert np.mean(lossi[-20:]) < np.mean(lossi[:20]) - 0.5


# ---- nanoGPT's model.py, as written (its comments and the from_pretrained / MFU parts left out) ----
class LayerNorm(nn.Module):
    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, input):
        return F.layer_norm(input, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, config, flash=True):
        super().__init__()
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout
        self.flash = flash and hasattr(torch.nn.functional, "scaled_dot_product_attention")
        if not self.flash:
            self.register_buffer("bias", torch.tril(torch.ones(config.block_size, config.block_size))
                                 .view(1, 1, config.block_size, config.block_size))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        if self.flash:
            y = torch.nn.functional.scaled_dot_product_attention(
                q, k, v, attn_mask=None, dropout_p=self.dropout if self.training else 0, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
            att = F.softmax(att, dim=-1)
            att = self.attn_dropout(att)
            y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, config, flash):
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config, flash)
        self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPTConfig:
    def __init__(self, vocab_size, block_size=16, n_layer=2, n_head=2, n_embd=32, dropout=0.0, bias=True):
        self.vocab_size, self.block_size, self.n_layer = vocab_size, block_size, n_layer
        self.n_head, self.n_embd, self.dropout, self.bias = n_head, n_embd, dropout, bias


class GPT(nn.Module):
    def __init__(self, config, flash=True):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config, flash) for _ in range(config.n_layer)]),
            ln_f=LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():
            if pn.endswith("c_proj.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    def get_num_params(self, non_embedding=True):
        n_params = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n_params -= self.transformer.wpe.weight.numel()
        return n_params

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        b, t = idx.size()
        pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        if targets is not None:
            logits = self.lm_head(x)
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        else:
            logits = self.lm_head(x[:, [-1], :])
            loss = None
        return logits, loss

    def configure_optimizers(self, weight_decay, learning_rate, betas):
        param_dict = {pn: p for pn, p in self.named_parameters() if p.requires_grad}
        decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
        nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
        optim_groups = [{"params": decay_params, "weight_decay": weight_decay},
                        {"params": nodecay_params, "weight_decay": 0.0}]
        return torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas)

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        for _ in range(max_new_tokens):
            idx_cond = idx if idx.size(1) <= self.config.block_size else idx[:, -self.config.block_size:]
            logits, _ = self(idx_cond)
            logits = logits[:, -1, :] / temperature
            if top_k is not None:
                v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                logits[logits < v[:, [-1]]] = -float("Inf")
            probs = F.softmax(logits, dim=-1)
            idx_next = torch.multinomial(probs, num_samples=1)
            idx = torch.cat((idx, idx_next), dim=1)
        return idx


def get_lr(it, warmup_iters=10, lr_decay_iters=60, learning_rate=3e-3, min_lr=3e-4):
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
    return min_lr + coeff * (learning_rate - min_lr)


def test_nanogpt_trains_checkpoints_and_generates(tmp_path):
    text = " ".join(WORDS * 30)
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    train_data = np.array([stoi[c] for c in text], dtype=np.uint16)
    block_size, batch_size = 16, 8

    def get_batch():
        ix = torch.randint(len(train_data) - block_size, (batch_size,))
        x = torch.stack([torch.from_numpy((train_data[i:i + block_size]).astype(np.int64)) for i in ix])
        y = torch.stack([torch.from_numpy((train_data[i + 1:i + 1 + block_size]).astype(np.int64)) for i in ix])
        return x, y

    torch.manual_seed(1337)
    model = GPT(GPTConfig(vocab_size=len(chars), block_size=block_size))
    assert model.get_num_params() == sum(p.numel() for p in model.parameters()) - block_size * 32
    optimizer = model.configure_optimizers(0.1, 3e-3, (0.9, 0.95))
    X, Y = get_batch()
    first = None
    for iter_num in range(80):
        for param_group in optimizer.param_groups:
            param_group["lr"] = get_lr(iter_num)
        logits, loss = model(X, Y)
        first = loss.item() if first is None else first
        X, Y = get_batch()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    assert first > math.log(len(chars)) - 0.2 and loss.item() < first - 1.0  # from uniform to learning the words

    checkpoint = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "iter_num": iter_num,
                  "best_val_loss": loss.item(), "model_args": dict(n_layer=2, n_head=2, n_embd=32)}
    torch.save(checkpoint, tmp_path / "ckpt.pt")
    checkpoint = torch.load(tmp_path / "ckpt.pt", map_location="cpu")
    restored = GPT(GPTConfig(vocab_size=len(chars), block_size=block_size, **checkpoint["model_args"]))
    restored.load_state_dict(checkpoint["model"])
    assert checkpoint["iter_num"] == 79
    model.eval()
    restored.eval()
    np.testing.assert_array_equal(restored(X, Y)[0].numpy(), model(X, Y)[0].numpy())

    start = torch.tensor([stoi[c] for c in "emm"], dtype=torch.long)[None, ...]
    with torch.no_grad():
        y = restored.generate(start, 20, temperature=0.8, top_k=5)
    assert y.shape == (1, 23) and y[0, :3].tolist() == start[0].tolist()


def test_nanogpts_two_attention_paths_give_the_same_model():
    """Its slow path (a causal mask buffer, masked_fill, softmax) and its flash path
    (F.scaled_dot_product_attention(is_causal=True)) are the same function: same loss, same gradients."""
    torch.manual_seed(0)
    flash = GPT(GPTConfig(vocab_size=11))
    slow = GPT(GPTConfig(vocab_size=11), flash=False)
    slow.load_state_dict(flash.state_dict(), strict=False)  # the slow one also has the mask buffers
    x = torch.randint(11, (4, 16))
    losses = []
    for model in (flash, slow):
        _, loss = model(x, x.roll(-1, dims=1))
        loss.backward()
        losses.append(loss.item())
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    for p, q in zip(flash.parameters(), slow.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6)


# ---- a classifier built from torch.nn's transformer modules, with PyTorch tutorial idioms ---------
class PositionalEncoding(nn.Module):  # as in PyTorch's "Language Modeling with nn.Transformer" tutorial
    def __init__(self, d_model, dropout=0.1, max_len=64):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, 1, d_model)
        pe[:, 0, 0::2] = torch.sin(position * div_term)
        pe[:, 0, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x):
        return self.dropout(x + self.pe[:x.size(0)])


class EncoderClassifier(nn.Module):
    def __init__(self, ntoken, d_model=32, nhead=4, d_hid=64, nlayers=2, nclass=2, dropout=0.1):
        super().__init__()
        self.embedding = nn.Embedding(ntoken, d_model, padding_idx=0)
        self.pos_encoder = PositionalEncoding(d_model, dropout)
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(d_model, nhead, d_hid, dropout), nlayers)
        self.d_model = d_model
        self.head = nn.Linear(d_model, nclass)

    def forward(self, src, pad_mask):
        src = self.pos_encoder(self.embedding(src.t()) * math.sqrt(self.d_model))  # (T, B, d): sequence first
        out = self.encoder(src, src_key_padding_mask=pad_mask)
        keep = (~pad_mask).t().unsqueeze(-1).float()
        return self.head((out * keep).sum(0) / keep.sum(0))  # the mean over the real tokens


def test_a_transformer_encoder_classifier_with_dataloader_and_one_cycle_learns():
    from minigrad.utils.data import DataLoader, TensorDataset, random_split
    torch.manual_seed(0)
    N, T, V = 512, 12, 20
    X = torch.randint(1, V, (N, T))
    pad = torch.arange(T).unsqueeze(0) >= torch.randint(4, T + 1, (N,)).unsqueeze(1)
    X = X.masked_fill(pad, 0)
    y = ((X == 7).sum(1) > (X == 3).sum(1)).long()  # more 7s than 3s: attention must count two tokens
    train, valid = random_split(TensorDataset(X, pad, y), [0.8, 0.2], generator=torch.Generator().manual_seed(42))
    model = EncoderClassifier(V)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    loader = DataLoader(train, batch_size=32, shuffle=True)
    epochs = 5
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, epochs=epochs, steps_per_epoch=len(loader))
    criterion = nn.CrossEntropyLoss(label_smoothing=0.05)
    for epoch in range(epochs):
        model.train()
        for xb, mb, yb in loader:
            opt.zero_grad()
            loss = criterion(model(xb, mb), yb)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            opt.step()
            sched.step()
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for xb, mb, yb in DataLoader(valid, batch_size=64):
            correct += (model(xb, mb).argmax(1) == yb).sum().item()
            total += len(yb)
    majority = max(y.float().mean().item(), 1 - y.float().mean().item())
    assert total == 102 and correct / total > max(0.9, majority + 0.1), (correct / total, majority)
    assert sched.get_last_lr()[0] < 1e-5  # one cycle: up to max_lr, then down to nearly nothing
