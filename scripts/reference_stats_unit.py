"""Reference figures for the unit tests of src/stats/ (logistic, Firth, clearance).

Computed once with statsmodels (GLM Binomial on grouped counts), an independent numpy
implementation of Firth's penalized likelihood, and scipy (Poisson / negative binomial tails).
The printed numbers are written into the tests in src/stats/*.rs; rerun only to re-derive them:

    pip install statsmodels numpy scipy && python3 scripts/reference_stats_unit.py
"""
import math, numpy as np, statsmodels.api as sm
def sig(e): return 1/(1+math.exp(-e))
X=[];T=[];i=0
for f1 in [0.,1.]:
  for f2 in [0.,1.]:
    for lvl in range(3):
      c1=float(lvl==1);c2=float(lvl==2)
      eta=-2.0+1.1*f1-0.6*f2+0.4*c1+0.9*c2
      n=40+13*(i%5)
      w=[1.,-1.,2.,0.,-2.,1.][i%6]
      s=math.floor(n*sig(eta)+0.5)+w
      X.append([f1,f2,c1,c2]);T.append([max(s,1.),n]);i+=1
X=np.array(X);T=np.array(T)
Z=sm.add_constant(X)
r=sm.GLM(np.column_stack([T[:,0],T[:,1]-T[:,0]]),Z,family=sm.families.Binomial()).fit(tol=1e-14)
np.set_printoptions(precision=12)
print("ML params",repr(r.params)); print("ML bse",repr(r.bse))
# expanded Bernoulli loglik
ll=sum(T[k,0]*e - T[k,1]*np.log1p(np.exp(e)) for k,e in enumerate(Z@r.params)); print("ll",ll)
def firth(Z,y,n,iters=200):
  b=np.zeros(Z.shape[1])
  for it in range(iters):
    pi=1/(1+np.exp(-(Z@b))); w=n*pi*(1-pi)
    I=Z.T@(Z*w[:,None]); Ii=np.linalg.inv(I)
    h=w*np.einsum('ij,jk,ik->i',Z,Ii,Z)
    U=Z.T@(y-n*pi+h*(0.5-pi))
    d=Ii@U; b=b+d
    if np.max(abs(d))<1e-13: break
  pi=1/(1+np.exp(-(Z@b))); w=n*pi*(1-pi); I=Z.T@(Z*w[:,None])
  return b,np.sqrt(np.diag(np.linalg.inv(I)))
# expanded-unit Firth (Bernoulli, independent of the grouped hat formula)
def expand(Z,y,n):
  rows=[];ys=[]
  for k in range(len(y)):
    for u in range(int(n[k])): rows.append(Z[k]); ys.append(1.0 if u<y[k] else 0.0)
  return np.array(rows),np.array(ys)
Zs=np.array([[1,0,0],[1,1,0],[1,0,1],[1,1,1]],float)
ys=np.array([5,0,10,0.]);ns=np.array([100,100,80,90.])
Ze,ye=expand(Zs,ys,ns)
b,se=firth(Ze,ye,np.ones(len(ye)))
print("Firth sep params",repr(b),"se",repr(se))
bg,seg=firth(Zs,ys,ns); print("grouped firth",repr(bg))
